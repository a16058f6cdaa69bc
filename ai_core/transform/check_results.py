"""The transformed checks' facts as Dagster asset-check results, with their evidence attached."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ai_core.markdown import markdown_table
from ai_core.transform.facts import SAMPLE_LIMIT, DiscrepancyFacts, IntegrityFacts

INTEGRITY = "integrity"
DISCREPANCIES = "discrepancies"


def integrity_check_result(
    facts: IntegrityFacts, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    """An error when pages or records were lost or a sub-resource is short of its total."""
    metadata: dict[str, Any] = {
        "pages": facts.pages,
        "bad_pages": facts.bad_pages,
        "records": facts.records,
        "rejected_records": facts.rejected,
        "distinct_keys": facts.distinct_keys,
        "short_sub_resources": facts.short_sub_resources,
        "problem_count": facts.bad_pages + facts.rejected + facts.short_sub_resources,
        "unobserved_sub_resources": list(facts.unobserved[:SAMPLE_LIMIT]),
        "samples": dg.MetadataValue.md(markdown_table(facts.samples)),
    }
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=INTEGRITY,
        passed=not facts.data_lost,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None
        if not facts.data_lost
        else "records were lost between the raw pages and the table; see samples",
    )


def discrepancy_check_result(
    facts: DiscrepancyFacts, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    """A warning when any discrepancy was found: the data is kept, but worth a look."""
    metadata: dict[str, Any] = {
        "discrepancies": facts.total,
        "problem_count": facts.total,
        **{f"count.{name}": n for name, n in sorted(facts.counts.items())},
        "samples": dg.MetadataValue.md(markdown_table(facts.samples)),
    }
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=DISCREPANCIES,
        passed=facts.total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )
