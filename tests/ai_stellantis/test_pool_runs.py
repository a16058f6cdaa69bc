"""The `stellantis_sites` pool, limited to 1 in `dagster.yaml`, holds across concurrent runs.

Several runs of the public raw steps start at once against the local stand-in, on one Dagster
instance; the stand-in counts, per site, the requests it is answering at once. With the pool
at 1 only one step fetches at a time, so no site ever sees more than one step's workers.

Dagster claims a slot with a read and then a write, and hands a freed slot on in separate writes,
so steps that ask for a free slot in the same instant, or a step that first asks while a slot is
handed on, can get it alongside another (README, "Concurrency pools"). Runs started together
would ask together, so the test holds the slot until every step ready when its run starts waits
on it. From then on a step only first asks just after its own run's previous step has handed the
slot on (another hand-on would need the step it went to to run and end first), and each slot
freed goes to one waiting step.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import httpx

from standin.stellantis.sites.process import serve_upstream
from tests.ai_stellantis.conftest import DAY

POOL = "stellantis_sites"
RUNS = 3
# The steps of a run that are ready at its start: the model-year codes and the dealers (the
# inventory waits on the codes).
READY_STEPS = 2
WORKERS = 3
DEADLINE_S = 150
ROOT = Path(__file__).resolve().parents[2]
RUN = """
import dagster as dg
from ai_stellantis.definitions import defs
from tests.ai_stellantis.conftest import DAY, RAW_KEYS

job = defs().resolve_job_def("stellantis_daily")
with dg.DagsterInstance.get() as instance:
    result = job.execute_in_process(
        partition_key=DAY,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in RAW_KEYS],
        instance=instance,
        raise_on_error=False,
    )
raise SystemExit(0 if result.success else 1)
"""


def test_the_stand_in_counts_requests_in_flight_per_site() -> None:
    # The gauge the pool test relies on sees concurrent requests to one site.
    with serve_upstream(scope="tiny", seed=7, date=DAY, latency=0.3, jitter=0.0) as upstream:
        url = upstream.url("jeep.com") + "/hostd/inventory/getinventoryfilters.json"
        with httpx.Client(timeout=10) as client, concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: client.get(url).status_code, range(4)))
        assert answers == [200] * 4
        assert upstream.stats()["peak_in_flight"] == {"jeep.com": 4}


@contextmanager
def held_slot(home: Path) -> Iterator[Callable[[list[subprocess.Popen[bytes]], float], None]]:
    """The pool's one slot, claimed under a run id of the test's own. Calling the result with the
    runs frees it once every step ready when its run starts waits on the pool, or once a run has
    ended (it failed, as no run can end while the slot is held; its output then says why), and
    fails if neither happens by the deadline."""
    holder = f"test-holder-{uuid.uuid4().hex}"
    # Opened before the runs start, this creates the storages once: runs creating them at once
    # race on their migrations.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert storage.supports_global_concurrency_limits
        assert storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, holder, "hold").is_claimed

        def release(runs: list[subprocess.Popen[bytes]], deadline: float) -> None:
            try:
                while True:
                    waiting = Counter(
                        step.run_id
                        for step in storage.get_concurrency_info(POOL).pending_steps
                        if step.run_id != holder
                    )
                    if len(waiting) == RUNS and set(waiting.values()) == {READY_STEPS}:
                        return
                    if any(run.poll() is not None for run in runs):
                        return
                    assert time.monotonic() < deadline, (
                        f"the runs never reached the pool: {waiting}"
                    )
                    time.sleep(0.1)
            finally:
                storage.free_concurrency_slots_for_run(holder)

        yield release


def test_concurrent_runs_never_send_one_site_more_than_one_steps_workers(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "concurrency:\n  pools:\n    default_limit: 1\n    granularity: op\n"
    )
    with (
        serve_upstream(scope="tiny", seed=7, date=DAY, latency=0.05) as upstream,
        held_slot(home) as release,
    ):
        env = {
            **os.environ,
            "STELLANTIS_BASE_URL_TEMPLATE": upstream.base_url_template,
            "STELLANTIS_INVENTORY_PAGES_WORKERS": str(WORKERS),
            "STELLANTIS_INVENTORY_RETRY_BACKOFF": "0.01",
            "STELLANTIS_INVENTORY_TIMEOUT": "5",
            "AI_DATA_DIR": str(tmp_path / "data"),
            "DAGSTER_HOME": str(home),
            "AI_TODAY": DAY,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("STELLANTIS_BRANDS", None)
        # Output goes to files: a pipe nobody reads while the runs wait could fill and stall them.
        logs = [tmp_path / f"run-{i}.log" for i in range(RUNS)]
        runs = []
        for log in logs:
            with log.open("wb") as out:
                runs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", RUN],
                        env=env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + DEADLINE_S
        try:
            release(runs, deadline)
            for run in runs:
                run.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            for run in runs:
                if run.poll() is None:
                    os.killpg(run.pid, signal.SIGKILL)
                    run.wait(timeout=10)
        peak = upstream.stats()["peak_in_flight"]

    failed = [
        log.read_text(errors="replace")[-3000:]
        for run, log in zip(runs, logs, strict=True)
        if run.returncode
    ]
    assert failed == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.get_concurrency_info(POOL).slot_count == 1
        records = instance.get_run_records()
    assert len(records) == RUNS
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    # The runs overlapped: each started before any had ended.
    starts = [r.start_time for r in records]
    ends = [r.end_time for r in records]
    assert None not in starts and None not in ends
    assert max(starts) < min(ends)  # type: ignore[type-var]

    assert len(peak) == 6
    assert max(peak.values()) <= WORKERS, peak
    # A step does use its workers: the limit is what keeps the runs' steps from adding up.
    assert max(peak.values()) > 1, peak
