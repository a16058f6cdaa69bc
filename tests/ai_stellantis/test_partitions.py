"""The Stellantis days start on one date, written once in `ai_stellantis/partitions.py`."""

import datetime as dt
import re
from pathlib import Path

import dagster as dg

import ai_stellantis
from ai_stellantis.definitions import defs
from ai_stellantis.partitions import START_DATE

DEFS = Path(ai_stellantis.__file__).parent / "defs"


def _start(partitions: dg.PartitionsDefinition | None) -> dt.date:
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    return partitions.start.date()


def test_every_asset_and_the_daily_job_start_on_the_location_start_date() -> None:
    definitions = defs()
    partitioned = [s for s in definitions.resolve_all_asset_specs() if s.partitions_def]
    assert len(partitioned) > 20
    starts = {_start(s.partitions_def) for s in partitioned}
    job = definitions.resolve_job_def("stellantis_daily")
    assert starts | {_start(job.partitions_def)} == {dt.date.fromisoformat(START_DATE)}


def test_no_instance_spells_a_date_of_its_own() -> None:
    files = sorted(DEFS.rglob("defs.yaml"))
    assert len(files) == 5
    dated = {f.relative_to(DEFS): re.findall(r"\d{4}-\d{2}-\d{2}", f.read_text()) for f in files}
    assert {name: found for name, found in dated.items() if found} == {}
    starts = [v for f in files for v in re.findall(r"start_date:\s*(.+)", f.read_text())]
    assert len(starts) >= 10 and set(starts) == {'"{{ start_date }}"'}
