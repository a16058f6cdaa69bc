"""The engine end to end: idempotence, independence from row order and chunking, layout."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ai_core.consolidate import ConsolidationResult, consolidate
from ai_core.consolidate.engine import ConsolidationStream
from tests.ai_core.consolidate.frames import DAY, frame, inputs, vehicle_spec

PUBLIC = [
    {
        "vin": f"V{i:02d}",
        "order_number": f"O{i:02d}" if i % 3 == 0 else None,
        "price": i,
        "status": "new",
    }
    for i in range(30)
]
DEALER = [
    {
        "vin": None if i % 2 else f"V{i:02d}",
        "order_number": f"O{i:02d}",
        "price": 100 - i,
        "options": [str(i % 4)],
    }
    for i in range(0, 45, 3)
]


def _run(
    public: pl.DataFrame, dealer: pl.DataFrame, chunk_rows: int = 32_768
) -> ConsolidationResult:
    spec = vehicle_spec(history={"retain_sold_days": 3})
    return consolidate(
        spec,
        DAY,
        inputs(spec, {"public": public, "dealer": dealer}, ages={"dealer": 1}),
        "acme/US/vehicles",
        chunk_rows=chunk_rows,
    )


def test_same_inputs_same_frame() -> None:
    first = _run(frame(PUBLIC), frame(DEALER))
    second = _run(frame(PUBLIC), frame(DEALER))
    assert_frame_equal(first.frame, second.frame)
    assert first.integrity == second.integrity
    assert_frame_equal(first.integrity.sources, second.integrity.sources)
    assert_frame_equal(first.discrepancies.samples, second.discrepancies.samples)


def test_row_order_and_chunking_do_not_change_the_result() -> None:
    base = _run(frame(PUBLIC), frame(DEALER))
    shuffled_public = frame(PUBLIC).sample(fraction=1.0, shuffle=True, seed=3)
    shuffled_dealer = pl.concat([frame(DEALER).slice(7), frame(DEALER).slice(0, 7)], rechunk=False)
    for chunk_rows in (1, 4, 32_768):
        other = _run(shuffled_public, shuffled_dealer, chunk_rows)
        assert_frame_equal(base.frame, other.frame)


def test_layout_and_merged_values() -> None:
    result = _run(frame(PUBLIC), frame(DEALER))
    out = result.frame
    assert out.columns[:5] == [
        "_partition_date",
        "vehicle_id",
        "vin",
        "order_number",
        "dealer_code",
    ]
    assert out.columns[-10:] == [
        "first_seen",
        "last_seen",
        "active",
        "sold_date",
        "relisted",
        "_winner",
        "_sources",
        "_source_partition_date",
        "_source_age_days",
        "_gap_filled",
    ]
    assert out["vehicle_id"].is_sorted() and out["vehicle_id"].n_unique() == out.height
    assert (out["_partition_date"] == DAY).all()
    # V03 (order O03) is in both feeds; V09 only by its order number in the dealer feed.
    rows = {r["vin"]: r for r in out.iter_rows(named=True)}
    assert (rows["V03"]["price"], rows["V03"]["options"], rows["V03"]["_sources"]) == (
        97,
        ["3"],
        ["public", "dealer"],
    )
    assert (rows["V09"]["order_number"], rows["V09"]["price"]) == ("O09", 91)
    # Dealer rows whose order number no public vehicle has: vin-less vehicles of their own.
    orphans = out.filter(pl.col("vin").is_null())
    assert set(orphans["order_number"]) == {"O33", "O39"}
    assert (orphans["_winner"] == "dealer").all()


def test_the_stream_yields_sorted_chunks_and_then_reports() -> None:
    spec = vehicle_spec()
    stream = ConsolidationStream(
        spec, DAY, inputs(spec, {"public": frame(PUBLIC)}), "acme/US/vehicles", chunk_rows=8
    )
    with pytest.raises(RuntimeError, match="only after the stream is read"):
        _ = stream.integrity
    chunks = list(stream.chunks())
    assert [c.height for c in chunks] == [8, 8, 8, 6]
    ids = pl.concat([c["vehicle_id"] for c in chunks])
    assert ids.is_sorted()
    assert stream.output_metadata() == {"active_rows": 30, "discrepancies": 0, "chunks": 4}


def test_the_spilled_rows_leave_no_files_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wide rows wait on local disk chunk by chunk; a stream read to the end, or dropped
    after one chunk, deletes them."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spec = vehicle_spec()
    for stop_after in (None, 1):
        stream = ConsolidationStream(
            spec,
            DAY,
            inputs(spec, {"public": frame(PUBLIC), "dealer": frame(DEALER)}),
            "acme/US/vehicles",
            chunk_rows=8,
        )
        chunks = stream.chunks()
        first = next(chunks)
        assert first.height == 8
        assert len(list(tmp_path.iterdir())) == 1
        if stop_after is None:
            assert sum(c.height for c in chunks) + first.height == stream.integrity.rows
        else:
            chunks.close()
        assert list(tmp_path.iterdir()) == []


def test_a_policy_for_a_field_only_an_absent_source_has_waits_for_it() -> None:
    """`options` comes only from the dealer feed: with that feed absent, the day goes on
    without the column; with it present, a policy naming no field is still a mistake."""
    spec = vehicle_spec()
    public = frame(PUBLIC).drop("options")
    day = consolidate(spec, DAY, inputs(spec, {"public": public}), "acme/US/vehicles")
    assert day.frame.height == len(PUBLIC)
    assert "options" not in day.frame.columns
    typo = vehicle_spec(merge={"match_on": [["vin"]], "fields": {"optoins": "union"}})
    with pytest.raises(KeyError, match=r"merge.fields names \['optoins'\]"):
        consolidate(
            typo,
            DAY,
            inputs(typo, {"public": public, "dealer": frame(DEALER)}),
            "acme/US/vehicles",
        )
