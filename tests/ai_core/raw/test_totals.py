"""The check's `total_bounds` finds the boundaries the fetcher's `paging.agree` finds."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_core.raw.paging import _Progress, agree
from ai_core.raw.totals import total_bounds

# A copy of a page: the total it reported and the records it held. Totals near the page counts
# below, and 0, so that pages past the end and sales both come up.
COPY = st.tuples(st.integers(0, 12), st.integers(0, 4))


@settings(deadline=None, max_examples=300)
@given(pages=st.lists(st.lists(COPY, min_size=1, max_size=3), min_size=1, max_size=5))
def test_the_check_and_the_fetcher_find_the_same_unsettled_boundaries(
    pages: list[list[tuple[int, int]]],
) -> None:
    prog = _Progress(sub=None)  # type: ignore[arg-type]  # only its totals are read
    rows = []
    for number, copies in enumerate(pages, 1):
        for total, records in copies:
            prog.totals.setdefault(number, set()).add(total)
            prog.fullest = max(prog.fullest, records)
            rows.append(
                {"_sub_resource": "s", "_page_number": number, "t": total, "records": records}
            )
    bounds = total_bounds(pl.DataFrame(rows), "t", "records").row(0, named=True)
    assert bounds["unsettled_boundaries"] == len(prog.boundaries())


def test_a_zero_past_the_end_agrees_only_where_the_listing_ends_before_it() -> None:
    # Pages of 5: a total of 10 ends on page 2, so page 3 answering 0 is past the end.
    assert agree({10}, {0}, 2, 5)
    # A total of 11 needs page 3: a 0 there means a sale emptied it after page 2 was answered.
    assert not agree({11}, {0}, 2, 5)
    # Read from the other side: page 3's 0 beside page 4's total of 10 agrees.
    assert agree({0}, {10}, 3, 5)
    assert not agree({0}, {11}, 3, 5)
    assert agree({7, 8}, {8}, 1, 5)
    assert not agree({7}, {8}, 1, 5)
