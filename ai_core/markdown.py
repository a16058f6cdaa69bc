"""Frames as Markdown tables, the evidence attached to asset checks in every tier."""

from __future__ import annotations

import polars as pl


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a markdown table for check metadata; `none` when it is empty."""
    if frame.is_empty():
        return "none"
    text = frame.with_columns(
        pl.all().cast(pl.String).fill_null("").str.replace_all("|", r"\|", literal=True)
    )
    lines = ["| " + " | ".join(text.columns) + " |", "|" + "---|" * len(text.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in text.iter_rows()]
    return "\n".join(lines)
