"""Scenario files: what to run, against which simulated upstream, and how to grade it.

A scenario is a JSON file in `benchmarks/configs/`. Loading it validates every field, so a typo
fails before any server starts or any stage runs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchmarks import defaults

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


class Thresholds(BaseModel):
    """`[green, red]` bounds: at or under green is green, over red is red, between is yellow."""

    model_config = ConfigDict(extra="forbid")

    memory_mb: tuple[float, float] = defaults.MEMORY_MB
    wall_s: tuple[float, float] = defaults.WALL_S

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        for name in ("memory_mb", "wall_s"):
            green, red = getattr(self, name)
            if green > red:
                raise ValueError(f"thresholds.{name}: green bound {green} is above red {red}")
        return self


class VerifyConfig(BaseModel):
    """A check run after the stage, outside its measurement: `module:function` and its params.

    It is called like a callable stage; what it returns goes to the stage's `stored` figures.
    """

    model_config = ConfigDict(extra="forbid")

    callable: str
    params: dict[str, Any] = {}


class StageConfig(BaseModel):
    """One stage, in its own process: a Dagster asset partition, a `module:function` callable,
    or a command."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str = ""
    asset_key: str | list[str] | None = None
    """An asset key, or several assets of one step (a multi-asset) materialised in one run."""
    callable: str | None = None
    command: list[str] | None = None
    """argv of a command stage; placeholders are listed in `benchmarks.runner.PLACEHOLDERS`."""
    environment: str | None = None
    """A pinned requirements file (repository-relative) whose venv the stage runs in, as
    `{env_python}`; built before the stage and kept between runs."""
    baseline_of: str | None = None
    thresholds: Thresholds | None = None
    env: dict[str, str] = {}
    params: dict[str, Any] = {}
    fetch: bool | None = None
    """Whether the latency bound applies; unset means 'when the stage reports pages'."""
    verify: VerifyConfig | None = None
    latency_model: Literal["pages", "api_calls", "job"] = "pages"
    """How the latency bound counts waits: `pages` (one per page the stage reports),
    `api_calls` (the API calls the server counted, listings one after another) or `job` (a whole
    job run: the longest of the chains of waits its raw steps make, see `figures.job_bound`)."""
    step_waits: dict[str, list[str]] = {}
    """For a `job` stage: steps held to a bound of their own, each with the stand-in endpoints
    whose waits it makes (`{"stellantis__raw__public_inventory": ["inventory"]}`); see
    `figures.step_bounds`."""

    @model_validator(mode="after")
    def _one_target(self) -> StageConfig:
        targets = [t for t in (self.asset_key, self.callable, self.command) if t is not None]
        if len(targets) != 1:
            raise ValueError(
                f"stage {self.name!r}: give exactly one of asset_key, callable or command"
            )
        if self.callable is not None and ":" not in self.callable:
            raise ValueError(
                f"stage {self.name!r}: callable {self.callable!r} must be 'module:function'"
            )
        if self.command is not None and not self.command:
            raise ValueError(f"stage {self.name!r}: command is empty")
        uses_env = any("{env_python}" in part for part in self.command or ())
        if uses_env and self.environment is None:
            raise ValueError(
                f"stage {self.name!r}: command uses {{env_python}} but names no environment"
            )
        return self

    @property
    def asset_keys(self) -> list[str]:
        """The asset keys the stage materialises (none for other stages)."""
        if self.asset_key is None:
            return []
        return [self.asset_key] if isinstance(self.asset_key, str) else list(self.asset_key)

    @property
    def kind(self) -> str:
        if self.asset_key is not None:
            return "asset"
        return "callable" if self.callable is not None else "command"

    @property
    def target(self) -> str:
        if self.asset_key is not None:
            return ", ".join(self.asset_keys)
        return str(self.callable) if self.callable is not None else " ".join(self.command or ())


class UpstreamConfig(BaseModel):
    """How the local upstream server is started; `server` names its context-manager factory.

    Settings left out are not passed, so the server's own defaults apply.
    """

    model_config = ConfigDict(extra="forbid")

    scope: str | None = None
    """The server's data set: `tiny`, `small` or `national`."""
    seed: int | None = None
    date: dt.date | None = None
    latency: float | None = None
    """Mean seconds per answer (doubled when `evening`)."""
    jitter: float | None = None
    """Spread of the latency, as a fraction of it (0..1)."""
    evening: bool | None = None
    size_share: float | None = None
    """Share of a 50-vehicle page's latency that grows with its vehicles (the server's default
    when unset); see `ServedState.answer_latency`."""
    faults: Any = None
    """Passed to the server as given, e.g. `"html:0.02,429:0.01"`; empty means none."""
    server: str = defaults.UPSTREAM_SERVER

    def server_kwargs(self) -> dict[str, Any]:
        """The settings given, as the factory's keyword arguments."""
        kwargs = self.model_dump(exclude={"server"}, exclude_none=True)
        if self.date is not None:
            kwargs["date"] = self.date.isoformat()
        return kwargs

    def mean_latency(self) -> float | None:
        """Seconds per answer on average, as the server paces them."""
        if self.latency is None:
            return None
        return self.latency * (2.0 if self.evening else 1.0)


class Scenario(BaseModel):
    """A whole scenario file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    env: dict[str, str] = {}
    definitions: str = defaults.DEFINITIONS
    """`module:attribute` of the Dagster definitions whose assets `asset_key` stages name."""
    upstream: UpstreamConfig | None = UpstreamConfig()
    partition: dt.date | None = None
    days: int = Field(default=1, ge=1)
    """Consecutive days to run, from `partition`: every stage runs once a day, in order, after
    the upstream server has moved to that day (its stage names end in `_dayNN`)."""
    stages: list[StageConfig]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [s.name for s in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"scenario {self.name!r}: stage names repeat: {duplicates}")
        for stage in self.stages:
            if stage.baseline_of is not None and stage.baseline_of not in names:
                raise ValueError(
                    f"scenario {self.name!r}: stage {stage.name!r} is a baseline of "
                    f"{stage.baseline_of!r}, which is not a stage of this scenario"
                )
        if not self.stages:
            raise ValueError(f"scenario {self.name!r} has no stages")
        return self

    def run_days(self) -> list[dt.date]:
        """The partitions run, one per day from `partition` (resolve the scenario first)."""
        assert self.partition is not None
        return [self.partition + dt.timedelta(days=i) for i in range(self.days)]

    def day_stages(self, day_number: int) -> list[StageConfig]:
        """The stages of the `day_number`th day (from 1), named for it when the run has several."""
        if self.days == 1:
            return self.stages
        suffix = f"_day{day_number:02d}"
        return [
            stage.model_copy(
                update={
                    "name": stage.name + suffix,
                    "label": f"{stage.label or stage.name} (day {day_number})",
                    "baseline_of": stage.baseline_of and stage.baseline_of + suffix,
                }
            )
            for stage in self.stages
        ]

    def resolved(self, today: dt.date) -> Scenario:
        """The scenario as run: the partition and upstream date filled in with `today`."""
        upstream = self.upstream
        if upstream is not None and upstream.date is None:
            upstream = upstream.model_copy(update={"date": today})
        return self.model_copy(
            update={"partition": self.partition or today, "upstream": upstream}, deep=True
        )


def scenario_path(name_or_path: str) -> Path:
    """A scenario's file: a path as given, or `benchmarks/configs/<name>.json`."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.exists():
        return candidate
    return CONFIGS_DIR / f"{name_or_path}.json"


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a scenario, with an error that names the file and what to fix."""
    path = scenario_path(name_or_path)
    if not path.is_file():
        known = sorted(p.stem for p in CONFIGS_DIR.glob("*.json"))
        raise FileNotFoundError(f"no scenario {name_or_path!r} at {path}; known scenarios: {known}")
    try:
        return Scenario.model_validate(json.loads(path.read_text()))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise ValueError(f"scenario file {path} is invalid: {exc}") from exc
