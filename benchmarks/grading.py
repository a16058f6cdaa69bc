"""Green / yellow / red grades of a stage's peak memory and wall time."""

from __future__ import annotations

from benchmarks.scenario import Thresholds

GRADES = ("green", "yellow", "red")


def grade(value: float | None, bounds: tuple[float, float]) -> str | None:
    """`green` at or under the first bound, `red` over the second, `yellow` between."""
    if value is None:
        return None
    green, red = bounds
    if value <= green:
        return "green"
    return "yellow" if value <= red else "red"


def worst(grades: list[str | None]) -> str | None:
    """The worst of some grades, ignoring the missing ones."""
    present = [g for g in grades if g is not None]
    return max(present, key=GRADES.index) if present else None


def grade_stage(
    status: str, peak_rss_mb: float, wall_s: float, thresholds: Thresholds
) -> dict[str, str | None]:
    """Each figure's grade and the stage's; a stage that did not finish is red whatever it cost."""
    memory = grade(peak_rss_mb, thresholds.memory_mb)
    wall = grade(wall_s, thresholds.wall_s)
    overall = worst([memory, wall]) if status == "ok" else "red"
    return {"memory": memory, "wall": wall, "stage": overall}
