"""The consolidated checks' facts as Dagster asset-check results, with their evidence attached."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ai_core.consolidate.checks import DiscrepancyFacts, IntegrityFacts
from ai_core.markdown import markdown_table


def integrity_check_result(facts: IntegrityFacts) -> dg.AssetCheckResult:
    """Fails as an error when ids do not identify, as a warning on orphans or absent sources."""
    errors, warnings = facts.errors, facts.warnings
    metadata: dict[str, Any] = {
        "rows": facts.rows,
        "null_ids": facts.null_ids,
        "duplicate_ids": facts.duplicate_ids,
        "sources": dg.MetadataValue.md(markdown_table(facts.sources)),
        "missing_sources": facts.missing_sources,
        "problem_count": len(errors) + len(warnings),
    }
    if facts.active_rows is not None:
        metadata["active_rows"] = facts.active_rows
    if facts.duplicate_samples:
        metadata["duplicate_id_samples"] = facts.duplicate_samples
    for orphan in facts.orphans:
        metadata[f"orphans.{orphan.column}"] = orphan.count
        if orphan.samples:
            metadata[f"orphans.{orphan.column}.samples"] = orphan.samples
    if errors or warnings:
        metadata["problems"] = errors + warnings
    return dg.AssetCheckResult(
        check_name="integrity",
        passed=not errors and not warnings,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def discrepancy_check_result(facts: DiscrepancyFacts) -> dg.AssetCheckResult:
    """Warns when sources disagree; disagreement is expected news about sources, not an error."""
    metadata: dict[str, Any] = {
        "problem_count": facts.total,
        **{f"disagreeing.{name}": count for name, count in facts.counts.items()},
    }
    if facts.samples.height:
        metadata["samples"] = dg.MetadataValue.md(markdown_table(facts.samples))
    return dg.AssetCheckResult(
        check_name="discrepancies",
        passed=facts.total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )
