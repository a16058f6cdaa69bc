"""What a callable stage is given: the run's partition, its isolated data dir and its settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class StageContext:
    """The argument of a callable stage `module:function(context) -> dict`.

    The function returns its metrics as a JSON-able dict; the keys the harness reads are `rows`,
    `bytes` (written), `pages`, `retries`, `http_requests` and `client_cpu_s`, and any other key
    is kept in the summary as reported.
    """

    stage_name: str
    partition: dt.date
    data_dir: Path
    """The run's isolated catalog and warehouse directory (`AI_DATA_DIR`)."""
    out_dir: Path
    """Where the stage may leave files of its own; it sits beside the run's summary."""
    env: Mapping[str, str]
    """The stage process's environment, the scenario's and the stage's `env` included."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The stage's `params` from the scenario file."""
