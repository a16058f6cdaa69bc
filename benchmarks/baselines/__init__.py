"""Baseline implementations of pipeline stages, run beside the real stage in the same scenario.

A baseline answers "how much better is the stage than the obvious way?" on the same machine, the
same day's data and the same run. It is a callable stage that reads the stage's input from the
run's isolated catalog and writes a table of its own, so it never touches the pipeline's tables.

To register one:

1. Write `benchmarks/baselines/<name>.py` with a function `run(context: StageContext) -> dict`
   (see `benchmarks.context`). Read the raw partition with `tables.raw_page_batches`, write with
   `tables.write_table`, and return at least `rows` and `bytes` (written). Do the work the
   honest way it was or would be done; a baseline slowed on purpose measures nothing.
2. Add a stage to the scenario after the stage whose input it reads:

       {"name": "transformed_inventory_per_record",
        "label": "baseline: per-record Pydantic",
        "callable": "benchmarks.baselines.per_record:run",
        "baseline_of": "transformed_inventory",
        "params": {"entity": "package.module:Entity", "records": "package.module:records"}}

The run's report and `compare.py` then show the baseline against its target with the ratio
baseline / stage of wall time, CPU and peak memory.
"""
