"""The daily job with its steps on separate Celery workers that share no disk and no memory.

Two workers, each its own process tree with its own working folder, `DAGSTER_HOME` and
`AI_DATA_DIR`, take steps from a real Redis broker. All they share with the run is Dagster's
storage on PostgreSQL and the REST catalog with its S3 warehouse: a step that handed data to
another through local disk or memory would fail or write elsewhere, and the tables would differ
from the same day run on the embedded catalog.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest
from polars.testing import assert_frame_equal

from tests.ai_stellantis.celery_job import daily_job
from tests.ai_stellantis.conftest import DAY, UpstreamEnv
from tests.ai_stellantis.production import job_steps, postgres_instance, read_tables, run_daily_job
from tests.catalogs import CatalogBackend
from tests.servers import Postgres, Redis

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2


def worker_yaml(folder: Path) -> Path:
    path = folder / "celery.yaml"
    path.write_text(
        "execution:\n"
        "  config:\n"
        "    broker:\n"
        "      env: DAGSTER_CELERY_BROKER_URL\n"
        "    backend:\n"
        "      env: DAGSTER_CELERY_BACKEND_URL\n"
    )
    return path


def start_worker(index: int, folder: Path, environ: dict[str, str]) -> subprocess.Popen[bytes]:
    """One worker with one process (solo pool): its steps run in that process."""
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(Path(environ["DAGSTER_HOME"]) / "dagster.yaml", home / "dagster.yaml")
    env = {
        **environ,
        "DAGSTER_HOME": str(home),
        "AI_DATA_DIR": str(folder / "data"),
        "PYTHONPATH": str(ROOT),
        # dagster-celery starts `celery` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}",
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-celery")), "worker", "start",
         "-A", "dagster_celery.app", "-y", str(worker_yaml(folder)), "-n", f"w{index}",
         "--loglevel", "INFO", "--", "--pool=solo"],
        cwd=folder, env=env, start_new_session=True,
        stdout=(folder / "worker.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_ready(proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited: {log.read_text()[-3000:]}")
        if log.exists() and " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"celery worker not ready in {timeout} s: {log.read_text()[-3000:]}")


@pytest.fixture
def workers(
    tmp_path: Path, stellantis_env: UpstreamEnv, postgres: Postgres, redis: Redis,
    catalog_backend: CatalogBackend, monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[psutil.Process]]:  # fmt: skip
    home = tmp_path / "launcher_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    postgres_instance(home, postgres, monkeypatch)
    for name, value in catalog_backend.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", redis.url(0))
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", redis.url(1))
    # The storage's tables are created once, as a deployment's `dagster instance migrate` does:
    # workers starting together would otherwise both create them and one would fail.
    with dg.DagsterInstance.get():
        pass
    procs = [start_worker(i, tmp_path / f"worker{i}", dict(os.environ)) for i in range(WORKERS)]
    try:
        for i, proc in enumerate(procs):
            wait_ready(proc, tmp_path / f"worker{i}" / "worker.log")
        yield [psutil.Process(p.pid) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:  # a worker that already exited has said why above
                os.killpg(proc.pid, 15)
        for proc in procs:
            proc.wait(timeout=60)


def run_on_workers(timeout: float) -> dict[str, int]:
    """Runs the job through the broker; returns the process id that started each step.

    The run waits on Celery for its steps with no deadline of its own, so it runs on a daemon
    thread: a lost worker fails the test instead of hanging the session.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            with dg.DagsterInstance.get() as instance:
                result = dg.execute_job(
                    dg.reconstructable(daily_job), instance, tags={"dagster/partition": DAY}
                )
                outcome["success"] = result.success
                outcome["pids"] = {
                    event.step_key: event.pid
                    for event in result.all_events
                    if event.event_type == dg.DagsterEventType.STEP_START
                }
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the run on Celery workers did not finish in {timeout} s"
    if "error" in outcome:
        raise AssertionError("the run on Celery workers failed") from outcome["error"]
    assert outcome["success"] is True
    pids = outcome["pids"]
    assert isinstance(pids, dict)
    return pids


@pytest.mark.parametrize("catalog_backend", ["rest"], indirect=True)
def test_steps_on_separate_workers_write_the_same_tables_as_one_process(
    stellantis_env: UpstreamEnv,
    workers: list[psutil.Process],
    catalog_backend: CatalogBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.perf_counter()
    step_pids = run_on_workers(timeout=600)
    seconds = time.perf_counter() - started
    got = read_tables(None)

    worker_pids = [{p.pid for p in w.children(recursive=True)} | {w.pid} for w in workers]
    assert len(step_pids) == job_steps()
    assert os.getpid() not in step_pids.values()
    used = [sorted(k for k, pid in step_pids.items() if pid in pids) for pids in worker_pids]
    assert sum(len(keys) for keys in used) == job_steps()  # every step ran on a worker
    assert all(used), f"a worker ran no step: {used}"

    # The same day in one process on the embedded catalog.
    for name in catalog_backend.environ():
        monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", stellantis_env.environ["DAGSTER_HOME"])
    run_daily_job()
    expected = read_tables(None)
    assert sorted(got) == sorted(expected)
    for name, frame in expected.items():
        assert_frame_equal(got[name], frame, check_row_order=True)
    print(
        f"celery: daily job on {WORKERS} workers {seconds:.1f} s; steps per worker "
        f"{[len(keys) for keys in used]}"
    )
