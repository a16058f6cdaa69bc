"""Faults the DealerConnect stand-in injects, written as `kind:argument` items joined by commas.

| item | effect on the served day |
|---|---|
| `vanish:inventory_31022` | the table is not listed, and a query of it answers 404 notFound |
| `unread:inventory_31022` | the table is listed but has no rows for the day (portal not read) |
| `query_error:sales_38941` | every query of the table answers 400 invalidQuery |
| `backend_error:inventory_46860` | the first query of the table answers 503 backendError |
| `lost_job:inventory_46860` | its result pages after the first answer 404 notFound (the job) |
| `dropped:inventory_31022` | the table is listed, then answers 404 notFound when queried |
| `dataset_error:403` | datasets.get answers that status (one of `DATASET_ERRORS`) |
| `drop_dataset:3` | the dataset is dropped after its 3rd query: each call naming it answers 404 |
| `slow_page:1.5` | every result page after the first is answered 1.5 s late |
| `bad_poc:0.05` | that share of POCs is cut short (not JSON), as a failed parse leaves it |
| `reuse_order:inventory_31022` | the table's last row repeats its first row's order number |
| `read_twice:inventory_31022` | a second read 3 h later: every unit twice, then IN_STOCK |
| `one_document:sales_31022` | every row of the table carries its first row's `blob_id` |
| `seconds_timestamps:inventory_31022` | its TIMESTAMPs come in seconds, `formatOptions` ignored |
| `iso_timestamps:inventory_31022` | its TIMESTAMPs come as ISO 8601 text, `formatOptions` ignored |
| `pending_vins:inventory_31022` | its units without a VIN come with `PENDING` instead of null |
| `view:inventory_31022` | the table is listed as a VIEW |
| `new_column:sales_31022` | its rows and schema carry a column the contract lacks (`NEW_COLUMN`) |
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = (
    "vanish",
    "unread",
    "query_error",
    "backend_error",
    "lost_job",
    "reuse_order",
    "read_twice",
    "one_document",
    "seconds_timestamps",
    "iso_timestamps",
    "pending_vins",
    "view",
    "new_column",
    "slow_page",
    "bad_poc",
    "drop_dataset",
    "dropped",
    "dataset_error",
)


DATASET_ERRORS = {
    400: "invalid",
    403: "accessDenied",
    429: "rateLimitExceeded",
    503: "backendError",
}
"""The statuses `dataset_error` answers, with BigQuery's reason for each; the client retries the
last two until its call's deadline."""

PENDING_VIN = "PENDING"
"""What `pending_vins` sends for a unit without a VIN."""

NEW_COLUMN = ("loader_version", "2.4")
"""The column `new_column` adds, and its value on every row: schema drift in a table."""


class FaultSpecError(ValueError):
    """A fault item the stand-in does not understand."""


@dataclass(frozen=True, slots=True)
class Faults:
    vanished: frozenset[str] = frozenset()
    unread: frozenset[str] = frozenset()
    query_errors: frozenset[str] = frozenset()
    backend_errors: frozenset[str] = frozenset()
    lost_jobs: frozenset[str] = frozenset()
    reused_orders: frozenset[str] = frozenset()
    read_twice: frozenset[str] = frozenset()
    seconds_timestamps: frozenset[str] = frozenset()
    iso_timestamps: frozenset[str] = frozenset()
    pending_vins: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()
    new_columns: frozenset[str] = frozenset()
    slow_page_s: float = 0.0
    bad_poc_share: float = 0.0
    drop_dataset_after: int | None = None
    dropped: frozenset[str] = frozenset()
    dataset_error: int | None = None
    one_document: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str) -> Faults:
        tables: dict[str, set[str]] = {
            "vanish": set(),
            "unread": set(),
            "query_error": set(),
            "backend_error": set(),
            "lost_job": set(),
            "reuse_order": set(),
            "read_twice": set(),
            "seconds_timestamps": set(),
            "iso_timestamps": set(),
            "pending_vins": set(),
            "view": set(),
            "new_column": set(),
            "dropped": set(),
            "one_document": set(),
        }
        slow, bad = 0.0, 0.0
        drop: int | None = None
        dataset_error: int | None = None
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            kind, _, argument = item.partition(":")
            if kind not in KINDS or not argument:
                raise FaultSpecError(
                    f"fault {item!r} is not one of {', '.join(k + ':ARG' for k in KINDS)}"
                )
            if kind == "read_twice" and not argument.startswith("inventory_"):
                raise FaultSpecError(f"fault {item!r}: only an inventory_ table is read twice")
            if kind in tables:
                tables[kind].add(argument)
                continue
            try:
                number = float(argument)
            except ValueError:
                raise FaultSpecError(f"fault {item!r} needs a number after the colon") from None
            if kind == "slow_page":
                slow = number
            elif kind == "bad_poc":
                bad = number
            elif kind == "dataset_error":
                if number not in DATASET_ERRORS:
                    raise FaultSpecError(
                        f"fault {item!r} needs one of the statuses {sorted(DATASET_ERRORS)}"
                    )
                dataset_error = int(number)
            elif kind == "drop_dataset":
                if not (number.is_integer() and number >= 0):
                    raise FaultSpecError(f"fault {item!r} needs a whole number of queries")
                drop = int(number)
        return cls(
            frozenset(tables["vanish"]),
            frozenset(tables["unread"]),
            frozenset(tables["query_error"]),
            frozenset(tables["backend_error"]),
            frozenset(tables["lost_job"]),
            frozenset(tables["reuse_order"]),
            frozenset(tables["read_twice"]),
            frozenset(tables["seconds_timestamps"]),
            frozenset(tables["iso_timestamps"]),
            frozenset(tables["pending_vins"]),
            frozenset(tables["view"]),
            frozenset(tables["new_column"]),
            slow,
            bad,
            drop,
            frozenset(tables["dropped"]),
            dataset_error,
            frozenset(tables["one_document"]),
        )
