"""DealerConnect's BigQuery tables as raw pages: dealer tables discovered, a day read from each.

Dealers are found by listing the dataset (`inventory_{dealer}`, `sales_{dealer}`); each table is a
sub-resource, read with one parameterised query for the day and paged by the client, and every
result page becomes one raw row whose body is `{"table", "page", "total_rows", "rows"}` with the
rows as the client returns them (POCs verbatim; NUMERIC cells as text, BYTES as base64). Several
tables are queried at once and yielded in table order, so memory holds at most `workers` tables.

A table read on a recent day (`known_tables`) that is not listed today, or is listed and gone
when queried, is stored as one failed page: the day records it as not observed, so downstream
carries its rows forward instead of reading the dealer's units as sold, and the `completeness`
check warns of it as gone (a dealer offboarded) rather than failing as for a page a rerun can
fetch. So is such an inventory or code-guide table with no rows for the day, and that fails the
check: a dealer always has stock, so an empty day means its portal was not read. A sales table
with no rows is a day without sales. A table whose query fails is a failed page naming the error,
and the other tables are stored; a day whose queries failed with none answered fails the run.
So does a dataset not found, when listed or while its tables are read: its tables are not gone
one dealer at a time, and nothing of the day is committed.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg
import orjson
import pyarrow as pa

from ai_core.iceberg.writer import unobserved_property
from ai_core.raw.checks import CompletenessTally, written_completeness
from ai_core.raw.layout import CompletenessRule, PageLayout
from ai_core.raw.output import LazyRawFetch
from ai_core.raw.result import RawFetchResult, RawPage, SubResourceSummary
from ai_core.transform.embedded import document_error

if TYPE_CHECKING:
    # Imported where a query runs: the location loads this module in every process.
    from google.cloud import bigquery

TableKind = Literal["inventory", "sales", "code_guides"]
DEALER_TABLE = re.compile(r"^(inventory|sales)_(.+)$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]+$")
TABLE_NAME = re.compile(r"^[^`\\\x00-\x1f\x7f]+$")
"""A table name that quotes safely in backticks: BigQuery allows more than `IDENTIFIER` there."""
READABLE_TYPES = frozenset({"TABLE", "EXTERNAL", None})
"""What a dealer's table can be; views and snapshots show another table's rows."""
CODE_GUIDES = "code_guides"
PAGE = PageLayout(records=("rows",), key="blob_id", totals=(("total_rows",),))
"""A raw row's body: `{"table", "page", "total_rows", "rows"}`, each row keyed by its blob."""
NO_ROWS = orjson.dumps({"rows": []}).decode()[1:-1]
"""How a body this stream writes for a table read with no row spells its rows (`"rows":[]`)."""


@dataclass(frozen=True, slots=True)
class DealerTables:
    """The dataset's tables of one kind, sorted, and those of its prefix not read, with why."""

    tables: list[str]
    skipped: dict[str, str]


def select_dealer_tables(listed: Iterable[tuple[str, str | None]], kind: TableKind) -> DealerTables:
    """Of (name, table type) pairs, the tables named `{kind}_{dealer code}`."""
    tables: list[str] = []
    skipped: dict[str, str] = {}
    for name, table_type in listed:
        match = DEALER_TABLE.match(name)
        if match is None or match.group(1) != kind:
            continue
        if table_type not in READABLE_TYPES:
            skipped[name] = f"a {table_type}, not a table"
        elif not TABLE_NAME.fullmatch(name):
            skipped[name] = "a name that cannot be quoted in a query"
        else:
            tables.append(name)
    return DealerTables(sorted(tables), skipped)


def dealer_tables(
    client: bigquery.Client, dataset: str, kind: TableKind, timeout_s: float
) -> DealerTables:
    """The dataset's tables of one kind; code guides are one table."""
    from google.cloud.bigquery import retry

    if kind == CODE_GUIDES:
        return DealerTables([CODE_GUIDES], {})
    listed = client.list_tables(
        f"{client.project}.{dataset}",
        retry=retry.DEFAULT_RETRY.with_timeout(2 * timeout_s),
        timeout=timeout_s,
    )
    return select_dealer_tables(((t.table_id, t.table_type) for t in listed), kind)


def day_query(project: str, dataset: str, table: str) -> str:
    """The query of one table's day. BigQuery cannot take a table name as a parameter, so names
    are checked against a strict pattern before they are quoted; the day is always `@day`."""
    for part, pattern in ((project, IDENTIFIER), (dataset, IDENTIFIER), (table, TABLE_NAME)):
        if not pattern.fullmatch(part):
            raise ValueError(f"DealerConnect: {part!r} is not a BigQuery identifier")
    source = f"SELECT * FROM `{project}.{dataset}.{table}` WHERE fetch_date = @day"
    if table == CODE_GUIDES:
        # The loader may parse a guide twice in a day: keep its latest copy.
        source += " QUALIFY ROW_NUMBER() OVER (PARTITION BY blob_id ORDER BY fetched_at DESC) = 1"
    return source + " ORDER BY blob_id"


DOCUMENT_COLUMNS = ("poc", "guide")
"""The column of a row holding its parsed document: a unit's or sale's POC, a code guide's guide."""


def unreadable_document(row: dict[str, Any]) -> bool:
    """Whether the row's document is not JSON, not a JSON object, or null."""
    column = next((c for c in DOCUMENT_COLUMNS if c in row), None)
    return column is not None and document_error(row[column]) is not None


@dataclass(slots=True)
class TableRead:
    """The pages of one table's day, or why there are none."""

    table: str
    pages: list[RawPage]
    total_rows: int
    bad_documents: int
    missing: Literal["vanished", "dropped", "empty", "failed"] | None = None
    """Why the day holds nothing to read: the table is gone (`vanished` when a recent day read
    it, `dropped` when only today's listing named it); or, for a stock or guide table that held
    rows on a recent day, it has no rows for the day: its portal was not read that day (a dealer
    always has stock), which is no observation of an empty lot (a table with no rows on any
    recent day is stored as read, empty, and the check names it `empty`); or its query failed."""
    error: str | None = None
    """For a failed query: what failed."""
    transient: bool = False
    """For a failed query: whether asking again later may succeed (a 5xx, a time-out)."""


class DealerConnectStream(LazyRawFetch):
    """The raw output of one DealerConnect table kind for one day (see the module docstring)."""

    def __init__(
        self,
        source_name: str,
        client: bigquery.Client,
        *,
        dataset: str,
        kind: TableKind,
        day: dt.date,
        workers: int,
        timeout_s: float,
        page_rows: int,
        chunk_pages: int,
        completeness: CompletenessRule | None,
        known_tables: Sequence[str] = (),
        log: dg.DagsterLogManager | None = None,
    ) -> None:
        self.source_name = source_name
        self._client = client
        self._dataset = dataset
        self._kind = kind
        self._day = day
        self._workers = workers
        self._timeout_s = timeout_s
        self._page_rows = page_rows
        self._chunk_pages = chunk_pages
        self._tally = CompletenessTally(completeness) if completeness else None
        self._known = frozenset(known_tables)
        self._log = log
        self._summaries: list[SubResourceSummary] = []
        self._vanished: list[str] = []
        self._empty: list[str] = []
        self._failed: list[str] = []
        self._first_error: str | None = None
        self._transient = False
        self._skipped: dict[str, str] = {}
        self._new: list[str] = []
        self._bad_documents = 0
        self._dataset_lost: str | None = None
        """Why the dataset is known gone mid-run; set by a query's thread, read by `fetch`."""

    def fetch(self) -> Iterator[pa.Table]:
        found = self._listing()
        self._skipped = found.skipped
        if found.skipped and self._log is not None:
            named = "; ".join(f"{name} ({why})" for name, why in sorted(found.skipped.items()))
            self._log.warning(f"{self.source_name}: not read as dealer tables: {named}")
        gone = self._known - set(found.tables)
        # The first day has no recent tables to compare with.
        self._new = sorted(set(found.tables) - self._known) if self._known else []
        if self._new and self._log is not None:
            self._log.info(f"{self.source_name}: tables not read on a recent day: {self._new}")
        tables = sorted(set(found.tables) | gone)
        with ThreadPoolExecutor(self._workers, thread_name_prefix="dealerconnect") as pool:
            pending: list[Future[TableRead]] = []
            ahead = iter(tables)
            for table in ahead:
                pending.append(self._submit(pool, table, table in gone))
                if len(pending) >= self._workers:
                    break
            while pending:
                read = pending.pop(0).result()
                if self._dataset_lost is not None:
                    raise dg.Failure(
                        f"{self.source_name}: the dataset {self._client.project}.{self._dataset} "
                        f"was dropped while its tables were read for {self._day} "
                        f"({self._dataset_lost}); "
                        "nothing of the day is committed: rerun the partition once it is back",
                        allow_retries=False,
                    )
                nxt = next(ahead, None)
                if nxt is not None:
                    pending.append(self._submit(pool, nxt, nxt in gone))
                yield from self._chunks(read)
        if self._failed and not self._summaries and not self._empty:
            # No query answered: the account's roles or the dataset, not a table. The run
            # fails, so nothing of the day is committed. (Tables gone with nothing else read
            # are dealers offboarded, as a one-dealer dataset's last day is: they warn.)
            # A step retry is worth it only when a failure may pass (a 5xx, a time-out).
            raise dg.Failure(
                f"{self.source_name}: {self._nothing_answered()}", allow_retries=self._transient
            )

    def _listing(self) -> DealerTables:
        """The day's tables. A dataset not found fails the run without a retry, which would
        find it missing too."""
        from google.api_core import exceptions

        try:
            return dealer_tables(self._client, self._dataset, self._kind, self._timeout_s)
        except exceptions.NotFound as exc:
            raise dg.Failure(
                f"{self.source_name}: the dataset {self._client.project}.{self._dataset} is not "
                f"found ({_message(exc)}); check the component's `dataset` and "
                "STELLANTIS_GCP_PROJECT, then rerun the partition",
                allow_retries=False,
            ) from None

    def _nothing_answered(self) -> str:
        return (
            f"no query answered for {self._day}: {len(self._failed)} failed, the first: "
            f"{self._first_error}; check the credentials' roles and the dataset, then rerun the "
            "partition"
        )

    def _submit(self, pool: ThreadPoolExecutor, table: str, gone: bool) -> Future[TableRead]:
        if gone:
            done: Future[TableRead] = Future()
            done.set_result(TableRead(table, [], 0, 0, missing="vanished"))
            return done
        return pool.submit(self._read, table)

    def _chunks(self, read: TableRead) -> Iterator[pa.Table]:
        if read.missing == "dropped":
            self._skipped[read.table] = "dropped between the listing and its query"
            if self._log is not None:
                self._log.warning(
                    f"{self.source_name}: {self._dataset}.{read.table} was dropped between the "
                    "listing and its query; no recent day read it, so there is nothing to carry"
                )
            return
        if read.missing is not None:
            now = self._skipped.get(read.table)
            if read.missing == "failed":
                self._failed.append(read.table)
                self._first_error = self._first_error or read.error
                self._transient = self._transient or read.transient
                reason = (
                    f"{read.error}; its rows of a recent day, if any, are carried forward "
                    "downstream, and a rerun of the partition reads it again"
                )
            elif read.missing == "empty":
                self._empty.append(read.table)
                reason = (
                    f"{self._dataset}.{read.table} has no rows for {self._day}, as when the "
                    "dealer portal was not read for it that day; its rows of a recent day, if "
                    "any, are carried forward downstream"
                )
            else:
                self._vanished.append(read.table)
                if self._tally is not None:
                    self._tally.expect_gone([read.table])
                where = f"is {now}" if now else "is not in the dataset"
                reason = (
                    f"{self._dataset}.{read.table} {where} on {self._day}; it was read on a "
                    "recent day, so its rows are carried forward downstream"
                )
            if self._log is not None:
                self._log.warning(f"{self.source_name}: {reason}")
            page = RawPage(
                1,
                self._url(read.table),
                {"day": self._day.isoformat()},
                0,
                b"",
                dt.datetime.now(dt.UTC),
                error=reason,
            )
            yield self._tallied(RawFetchResult(read.table, [page]))
            return
        self._bad_documents += read.bad_documents
        self._summaries.append(
            SubResourceSummary(
                sub_resource=read.table, pages=len(read.pages), records=read.total_rows
            )
        )
        for start in range(0, len(read.pages), self._chunk_pages):
            yield self._tallied(
                RawFetchResult(read.table, read.pages[start : start + self._chunk_pages])
            )

    def _tallied(self, result: RawFetchResult) -> pa.Table:
        rows = result.to_arrow(self._day)
        if self._tally is not None:
            self._tally.add(rows)
        return rows

    def _url(self, table: str) -> str:
        return f"bigquery://{self._client.project}/{self._dataset}/{table}"

    def _read(self, table: str) -> TableRead:
        from google.api_core import exceptions
        from google.cloud import bigquery
        from google.cloud.bigquery import retry

        project = self._client.project
        sql = day_query(project, self._dataset, table)
        config = bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("day", "DATE", self._day)]
        )
        url = self._url(table)
        params: dict[str, str | int] = {"query": sql, "day": self._day.isoformat()}
        try:
            # The client retries what BigQuery marks transient; what it raises is this table's.
            rows = self._client.query_and_wait(
                sql,
                job_config=config,
                page_size=self._page_rows,
                api_timeout=self._timeout_s,
                wait_timeout=self._timeout_s,
                # The client's own retries last ten minutes a call and forty a query: an outage
                # fails the table within a few time-outs instead, and the step is retried.
                retry=retry.DEFAULT_RETRY.with_timeout(2 * self._timeout_s),
                job_retry=retry.DEFAULT_JOB_RETRY.with_timeout(4 * self._timeout_s),
            )
            total = int(rows.total_rows or 0)
            pages: list[RawPage] = []
            bad = read = 0
            for number, page in enumerate(_pages(rows), start=1):
                records = [dict(r.items()) for r in page]
                read += len(records)
                bad += sum(unreadable_document(r) for r in records)
                try:
                    body = orjson.dumps(
                        {"table": table, "page": number, "total_rows": total, "rows": records},
                        default=cell_json,
                    )
                except orjson.JSONEncodeError as exc:
                    raise UnreadableCell(
                        f"a column of a type a raw page does not store: {exc}"
                    ) from None
                fetched = dt.datetime.now(dt.UTC)
                pages.append(RawPage(number, url, params, 200, body, fetched))
        except exceptions.NotFound as exc:
            return self._not_found(table, f"NotFound: {_message(exc)}")
        except exceptions.GoogleAPIError as exc:
            # The client gives up retrying a 5xx, a 429 or a time-out with a `RetryError`.
            passing = isinstance(
                exc, exceptions.ServerError | exceptions.TooManyRequests | exceptions.RetryError
            )
            return self._failure(table, f"{type(exc).__name__}: {_message(exc)}", passing)
        except TimeoutError:
            return self._failure(table, f"no answer within {self._timeout_s:g} s", True)
        except UnreadableCell as exc:
            return self._failure(table, f"the answer holds a value its schema does not read: {exc}")
        if read == 0 and self._kind != "sales" and table in self._known:
            return TableRead(table, [], 0, 0, missing="empty")
        return TableRead(table, pages, total, bad)

    def _failure(self, table: str, cause: str, transient: bool = False) -> TableRead:
        error = f"the query of {self._dataset}.{table} for {self._day} failed ({cause})"
        return TableRead(table, [], 0, 0, missing="failed", error=error, transient=transient)

    def _not_found(self, table: str, cause: str) -> TableRead:
        """A dealer's table dropped since it was listed is gone; a 404 of anything else (the
        query's job, while its pages are read) or of the code guides is a failed query."""
        from google.api_core import exceptions

        try:
            self._ask(self._client.get_table, f"{self._dataset}.{table}")
        except exceptions.NotFound:
            if self._kind == CODE_GUIDES:  # one table, no dealer's: never offboarded
                return self._failure(table, f"{cause}; the table is not in the dataset")
            if self._dataset_lost is None and (unknown := self._ask_for_dataset(table, cause)):
                return unknown
            if self._dataset_lost is not None:
                return self._failure(table, self._dataset_lost)
            return TableRead(
                table, [], 0, 0, missing="vanished" if table in self._known else "dropped"
            )
        except Exception:  # the table's state is unknown: the 404 stands, a failed query
            pass
        return self._failure(table, cause, True)  # a new query gets a new job

    def _ask_for_dataset(self, table: str, cause: str) -> TableRead | None:
        """After `table` answered 404, whether its dataset is there: gone, that is recorded (every
        table of a dropped dataset is gone, and no dealer is offboarded by it); not known, the
        table is a failed query naming why; there, None."""
        from google.api_core import exceptions

        try:
            self._ask(self._client.get_dataset, self._dataset)
        except exceptions.NotFound:
            self._dataset_lost = f"{cause}; the dataset itself is gone"
        except Exception as exc:
            why = f"{type(exc).__name__}: {_message(exc)}"
            # Refused (a role the account lacks) is not worth a retry; the rest may pass.
            refused = isinstance(exc, exceptions.ClientError) and not isinstance(
                exc, exceptions.TooManyRequests
            )
            return self._failure(
                table, f"{cause}; asking for the dataset failed ({why})", not refused
            )
        return None

    def _ask(self, get: Callable[..., object], name: str) -> None:
        """Ask for a table or the dataset, `name` within the project, as long as one query's
        call may take."""
        from google.cloud.bigquery import retry

        get(
            f"{self._client.project}.{name}",
            retry=retry.DEFAULT_RETRY.with_timeout(self._timeout_s),
            timeout=self._timeout_s,
        )

    def completeness_result(self) -> dg.AssetCheckResult:
        return written_completeness(self.source_name, self._tally, self.consumed)

    @property
    def unobserved(self) -> list[str]:
        """Tables of the day with nothing observed: vanished, empty, or failed."""
        return sorted([*self._vanished, *self._empty, *self._failed])

    def snapshot_properties(self) -> dict[str, str]:
        """The day's tables not observed, recorded with the commit so downstream carries them."""
        return unobserved_property(self.unobserved)

    @property
    def summaries(self) -> Sequence[SubResourceSummary]:
        return list(self._summaries)

    def output_metadata(self) -> dict[str, Any]:
        """The day's tables, pages and records, and which tables vanished or failed."""
        return {
            # A vanished table is stored as one failed page, as a lost page of a site is.
            "failed_pages": len(self.unobserved),
            "unobserved_sub_resources": self.unobserved[:200],
            "sub_resources": len(self._summaries),
            "pages": sum(s.pages for s in self._summaries),
            "records": sum(s.records for s in self._summaries),
            "documents_unreadable": self._bad_documents,
            "vanished_tables": dg.MetadataValue.json(self._vanished),
            "empty_tables": dg.MetadataValue.json(self._empty),
            "failed_tables": dg.MetadataValue.json(self._failed),
            "skipped_tables": dg.MetadataValue.json(self._skipped),
            "new_tables": dg.MetadataValue.json(self._new),
            "fetch_wall_s": round(self.fetch_wall_s, 3),
            "workers": self._workers,
        }


class UnreadableCell(Exception):
    """A cell of a query's answer that the client could not convert by the result's schema."""


def _pages(rows: Any) -> Iterator[Sequence[Any]]:
    """The result's pages; an empty result still gives one empty page, recording the read."""
    seen = False
    for page in rows.pages:
        seen = True
        try:
            # The client converts each cell as it is read, for example a TIMESTAMP from the
            # integer microseconds it asked for.
            items = list(page)
        except (ValueError, TypeError, ArithmeticError, AttributeError) as exc:
            raise UnreadableCell(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        yield items
    if not seen:
        yield []


def cell_json(value: object) -> str:
    """Cells orjson does not write: NUMERIC as its exact text, BYTES as base64."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not stored in a raw page")


def _message(exc: BaseException) -> str:
    text = (str(getattr(exc, "message", "") or exc).splitlines() or [""])[0][:300]
    # The client's retries end in a `RetryError` whose own text is only its deadline.
    cause = getattr(exc, "cause", None)
    return f"{text}, after {type(cause).__name__}: {_message(cause)}" if cause else text
