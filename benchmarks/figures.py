"""A stage's figures in the summary: what its process cost, what it reported, and its grades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import defaults
from benchmarks.grading import grade_stage
from benchmarks.measure import ProcessFigures
from benchmarks.scenario import StageConfig, Thresholds

REPORTED_KEYS = (
    "rows", "bytes", "pages", "retries", "http_requests", "client_cpu_s", "fetch_cpu_s",
    "extract_seconds",
)  # fmt: skip
"""Metrics read from the stage's materialisation metadata or callable result, when present.
`extract_seconds` is the wall of turning raw pages into hashed rows (read, decode, extract,
hash), the part a transformed stage and its per-record baseline share."""


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def latency_bound(
    pages: float | None,
    latency_s: float | None,
    workers: object | None,
    paced_s: float | None = None,
) -> float | None:
    """The least wall a fetch can take: the server's waits, `workers` at a time.

    `paced_s`, the seconds the server says it waited before its answers during the stage, is
    the exact sum whatever its latency model; without it every page is taken to wait `latency_s`.
    """
    n_workers = _number(workers)
    if pages is None or not n_workers or n_workers <= 0:
        return None
    if paced_s:
        return paced_s / n_workers
    if not latency_s:
        return None
    return pages * latency_s / n_workers


def api_call_bound(
    calls: Mapping[str, Any] | None, latency_s: float | None, workers: object | None
) -> float | None:
    """The least wall of a stage of API calls, `calls` counted by method: listings (`*.list`)
    come one after another before the reads, and every other call waits `latency_s`,
    `workers` at a time (a table's query and its result pages follow each other in one worker,
    so the calls of `workers` tables overlap)."""
    n_workers = _number(workers)
    if not calls or not latency_s or not n_workers or n_workers <= 0:
        return None
    counts = {str(k): _number(v) or 0.0 for k, v in calls.items()}
    listing = sum(v for k, v in counts.items() if k.endswith(".list"))
    reads = sum(v for k, v in counts.items() if not k.endswith(".list"))
    if not listing and not reads:
        return None
    return (listing + reads / n_workers) * latency_s


def api_calls(delta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The API calls by method the server counted during a stage, wherever it nests them
    (`{"dealerconnect": {"requests": {...}}}`), or None."""
    for key, value in delta.items():
        if not isinstance(value, Mapping):
            continue
        if key == "requests" and all(not isinstance(v, Mapping) for v in value.values()):
            return value
        found = api_calls(value)
        if found is not None:
            return found
    return None


BIGQUERY_WORKERS_ENV = "STELLANTIS_BIGQUERY_WORKERS"
BIGQUERY_WORKERS_DEFAULT = 8


def paced_over_workers(
    delta: Mapping[str, Any], env: Mapping[str, str], endpoints: Sequence[str]
) -> float | None:
    """The seconds the public stand-in waited before its answers at `endpoints` during a stage,
    over the page workers: the least wall of fetches that wait there; None when unknown."""
    workers = _number(env.get(defaults.WORKERS_ENV))
    paced = delta.get("paced_seconds_by_endpoint")
    if not workers or not isinstance(paced, Mapping):
        return None
    return sum(_number(paced.get(e)) or 0.0 for e in endpoints) / workers


def job_chains(
    delta: Mapping[str, Any], latency_s: float | None, env: Mapping[str, str]
) -> dict[str, float]:
    """The chains of waits a whole daily run's raw steps make, each the least wall of its steps.

    - `public_inventory`: the model-year codes, then the inventory that pages each code: the
      seconds the public stand-in waited before each endpoint's answers (`filters`,
      `inventory`), each divided by the page workers.
    - `public_dealers`: the dealer locator's waits over the same workers.
    - `dealerconnect`: every DealerConnect API call of the run as `api_call_bound` counts it, as
      if one step made them all with its table workers; the three DealerConnect steps may run at
      once, so this chain can only overstate their least wall.
    """
    chains: dict[str, float] = {}
    inventory = paced_over_workers(delta, env, ("filters", "inventory"))
    if inventory is not None:
        chains["public_inventory"] = inventory
        chains["public_dealers"] = paced_over_workers(delta, env, ("dealers",)) or 0.0
    dealerconnect = api_call_bound(
        api_calls(delta.get("dealerconnect") or {}),
        latency_s,
        env.get(BIGQUERY_WORKERS_ENV, BIGQUERY_WORKERS_DEFAULT),
    )
    if dealerconnect is not None:
        chains["dealerconnect"] = dealerconnect
    return {k: round(v, 3) for k, v in chains.items()}


def step_bounds(
    step_waits: Mapping[str, Sequence[str]],
    steps: Mapping[str, Mapping[str, Any]],
    delta: Mapping[str, Any],
    env: Mapping[str, str],
) -> dict[str, dict[str, float | None]]:
    """Per named step of a job run: the least wall of its own waits (the stand-in's waits at its
    endpoints over the page workers), and its wall against it, from its step start and from the
    launch of its process. A forked step's start-up is the fork, so its wall from its launch is
    what a deployment's run spends on the step."""
    bounds: dict[str, dict[str, float | None]] = {}
    for key, endpoints in step_waits.items():
        step = steps.get(key)
        bound = paced_over_workers(delta, env, endpoints)
        if step is None or not bound:
            continue
        wall, launched = _number(step.get("wall_s")), _number(step.get("launched_wall_s"))
        bounds[key] = {
            "bound_s": round(bound, 3),
            "wall_over_bound": _round(wall / bound) if wall else None,
            "launched_over_bound": _round(launched / bound) if launched else None,
        }
    return bounds


def stage_figures(
    stage: StageConfig,
    process: ProcessFigures,
    outcome: Mapping[str, Any] | None,
    *,
    env: Mapping[str, str],
    latency_s: float | None,
    default_thresholds: Thresholds,
    paced_s: float | None = None,
    upstream_delta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The stage's entry in `summary.json`; `upstream_delta` is how the server's statistics
    moved during the stage (see `latency_model`)."""
    outcome = outcome or {}
    metrics: dict[str, Any] = dict(outcome.get("metrics") or {})
    # The process exit code is the authority; the outcome file may be missing after a kill.
    status = process.status
    if status == "ok" and outcome.get("status") not in (None, "ok"):
        status = "failed"
    figures: dict[str, Any] = {
        "name": stage.name,
        "label": stage.label,
        "kind": stage.kind,
        "target": stage.target,
        "baseline_of": stage.baseline_of,
        "status": status,
        "returncode": process.returncode,
        "error": outcome.get("error")
        or (None if status == "ok" else _missing_outcome_error(status, process)),
        "wall_s": round(process.wall_s, 3),
        "work_wall_s": _round(_number(outcome.get("work_wall_s"))),
        "import_s": _round(_number(outcome.get("import_s"))),
        "user_cpu_s": round(process.user_cpu_s, 3),
        "sys_cpu_s": round(process.sys_cpu_s, 3),
        "cpu_s": round(process.user_cpu_s + process.sys_cpu_s, 3),
        "peak_rss_mb": round(process.peak_rss_mb, 1),
        "peak_rss_sampled_mb": round(process.peak_rss_sampled_mb, 1),
        "peak_rss_rusage_mb": round(process.peak_rss_rusage_mb, 1),
        "rss_samples": process.samples,
    }
    for key in REPORTED_KEYS:
        figures[key] = _number(metrics.get(key))
    is_fetch = stage.fetch if stage.fetch is not None else figures["pages"] is not None
    # The stage's own word on its concurrency beats the setting it was given.
    workers = metrics.get("workers", env.get(defaults.WORKERS_ENV))
    chains: dict[str, float] = {}
    if stage.latency_model == "job":
        # A whole run waits on several fetches at once: its bound is its longest chain.
        chains = job_chains(upstream_delta or {}, latency_s, env)
        bound = max(chains.values(), default=None)
    elif not is_fetch:
        bound = None
    elif stage.latency_model == "api_calls":
        bound = api_call_bound(api_calls(upstream_delta or {}), latency_s, workers)
    else:
        bound = latency_bound(figures["pages"], latency_s, workers, paced_s)
    work_wall = _number(outcome.get("work_wall_s"))
    figures["latency_bound_s"] = _round(bound)
    if chains:
        figures["latency_chains_s"] = chains
    if stage.step_waits:
        figures["step_bounds"] = step_bounds(
            stage.step_waits, metrics.get("steps") or {}, upstream_delta or {}, env
        )
    figures["wall_over_bound"] = _round(process.wall_s / bound) if bound else None
    figures["work_over_bound"] = _round(work_wall / bound) if bound and work_wall else None
    figures["metrics"] = metrics
    figures["checks"] = outcome.get("checks") or []
    thresholds = stage.thresholds or default_thresholds
    figures["thresholds"] = thresholds.model_dump(mode="json")
    figures["grades"] = grade_stage(status, process.peak_rss_mb, process.wall_s, thresholds)
    figures["grade"] = figures["grades"]["stage"]
    return figures


def _missing_outcome_error(status: str, process: ProcessFigures) -> str:
    if status == "killed":
        return f"killed by the watchdog after {process.wall_s:.1f} s (STAGE_TIMEOUT_S)"
    return f"stage process exited with code {process.returncode} and wrote no outcome"


def _round(value: float | int | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)
