"""The BigQuery REST API, as far as `google-cloud-bigquery` uses it to list tables and query.

Routes (under `/bigquery/v2`): `GET projects/P/datasets/D/tables` (tables.list, paged),
`GET projects/P/datasets/D/tables/T` (tables.get), `GET projects/P/datasets/D` (datasets.get),
`POST projects/P/queries` (jobs.query),
`GET projects/P/queries/J` (jobs.getQueryResults, paged), `POST projects/P/jobs` (jobs.insert) and
`GET projects/P/jobs/J` (jobs.get). A query is run in DuckDB when it arrives: its named parameters
(`@day`) are bound as DuckDB parameters, and its table references (`` `P.D.T` `` or `` `D.T` ``)
are resolved against the served day's tables. Results are kept per job and paged by row offset.
The control routes under `/_sim/` read and change the served day and its faults.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from standin.stellantis.dealerconnect.data import DealerConnectWorld
from standin.stellantis.dealerconnect.faults import (
    DATASET_ERRORS,
    NEW_COLUMN,
    PENDING_VIN,
    Faults,
    FaultSpecError,
)

API = "/bigquery/v2/projects/"
DEFAULT_PAGE_ROWS = 500
KEPT_JOBS = 500
LOCATION = "US"
_TABLE_REF = re.compile(r"`(?:([\w-]+)\.)?(\w+)\.(\w+)`")
_PARAM = re.compile(r"@(\w+)")
_BQ_TYPES = {"DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "INT64": "INT64", "INTEGER": "INT64"}

TimestampForm = Literal["micros", "seconds", "iso"]
"""How TIMESTAMP cells are written: the integer microseconds the client asks for, seconds, or
ISO 8601 text."""


class ApiError(Exception):
    """An error BigQuery would answer: HTTP status, reason and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
                "status": HTTPStatus(self.status).phrase.upper().replace(" ", "_"),
            }
        }


@dataclass(slots=True)
class Job:
    project: str
    job_id: str
    query: str
    fields: list[dict[str, str]]
    rows: list[dict[str, Any]]
    created_ms: int


class DealerConnectBackend:
    """The served dataset in DuckDB, the served day and faults, and the finished query jobs."""

    def __init__(
        self,
        world: DealerConnectWorld,
        day: dt.date,
        *,
        dataset: str = "dealerconnect",
        faults: str = "",
        page_rows: int = DEFAULT_PAGE_ROWS,
        latency: float = 0.0,
    ) -> None:
        self.world = world
        self.latency = latency
        self.dataset = dataset
        self.page_rows = page_rows
        self.db = duckdb.connect()
        self.db.execute(f'CREATE SCHEMA "{dataset}"')
        self.lock = threading.RLock()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.requests: Counter[str] = Counter()
        self.faults = Faults()
        self.day = day
        self._loaded: dict[dt.date, tuple[float | frozenset[str], ...]] = {}
        self._failed_once: set[tuple[dt.date, str]] = set()
        self._queries = 0
        """Queries since the faults were set, for `drop_dataset`."""
        self.set_state(day.isoformat(), faults)

    # -- served state -------------------------------------------------------------------------

    def set_state(self, date: str | None = None, faults: str | None = None) -> dict[str, Any]:
        with self.lock:
            if faults is not None:
                self.faults = Faults.parse(faults)
                self._queries = 0
            if date is not None:
                self.day = dt.date.fromisoformat(date)
            self._load(self.day)
            return self.state()

    def state(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "dataset": self.dataset,
            "tables": self.tables(),
            "faults": {
                "vanished": sorted(self.faults.vanished),
                "unread": sorted(self.faults.unread),
                "query_errors": sorted(self.faults.query_errors),
                "backend_errors": sorted(self.faults.backend_errors),
                "lost_jobs": sorted(self.faults.lost_jobs),
                "slow_page_s": self.faults.slow_page_s,
                "drop_dataset_after": self.faults.drop_dataset_after,
                "dropped": sorted(self.faults.dropped),
                "dataset_error": self.faults.dataset_error,
                "bad_poc_share": self.faults.bad_poc_share,
                "reused_orders": sorted(self.faults.reused_orders),
                "read_twice": sorted(self.faults.read_twice),
                "one_document": sorted(self.faults.one_document),
                "seconds_timestamps": sorted(self.faults.seconds_timestamps),
                "iso_timestamps": sorted(self.faults.iso_timestamps),
                "pending_vins": sorted(self.faults.pending_vins),
                "views": sorted(self.faults.views),
                "new_columns": sorted(self.faults.new_columns),
            },
            "requests": dict(self.requests),
        }

    def _load(self, day: dt.date) -> None:
        """Replace the day's rows of every table, creating tables on their first day."""
        spoilt = (
            self.faults.bad_poc_share,
            self.faults.reused_orders,
            self.faults.read_twice,
            self.faults.one_document,
        )
        if self._loaded.get(day) == (*spoilt, self.faults.unread):
            return
        for name, frame in self.world.day_tables(day, *spoilt).tables.items():
            if name in self.faults.unread:
                frame = frame.clear()
            arrow = frame.to_arrow()
            self.db.register("incoming", arrow)
            target = f'"{self.dataset}"."{name}"'
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM incoming LIMIT 0"
            )
            self.db.execute(f"DELETE FROM {target} WHERE fetch_date = ?", [day])
            self.db.execute(f"INSERT INTO {target} SELECT * FROM incoming")
            self.db.unregister("incoming")
        self._loaded[day] = (*spoilt, self.faults.unread)

    def tables(self) -> list[str]:
        """Tables of the dataset that exist on the served day, sorted."""
        rows = self.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "ORDER BY table_name",
            [self.dataset],
        ).fetchall()
        return [r[0] for r in rows if r[0] not in self.faults.vanished]

    # -- API ----------------------------------------------------------------------------------

    def count(self, method: str) -> None:
        with self.lock:
            self.requests[method] += 1
        if self.latency > 0:
            # Outside the lock: concurrent calls wait side by side, as on the real service.
            time.sleep(self.latency)

    def list_tables(self, project: str, dataset: str, query: dict[str, str]) -> dict[str, Any]:
        self._require_dataset(project, dataset)
        with self.lock:
            names = self.tables()
        start = int(query.get("pageToken") or 0)
        size = int(query.get("maxResults") or 1000)
        page = names[start : start + size]
        answer: dict[str, Any] = {
            "kind": "bigquery#tableList",
            "etag": uuid.uuid5(uuid.NAMESPACE_URL, ",".join(names)).hex,
            "tables": [
                self._table_ref(project, dataset, n)
                | {"type": "VIEW" if n in self.faults.views else "TABLE"}
                for n in page
            ],
            "totalItems": len(names),
        }
        if start + size < len(names):
            answer["nextPageToken"] = str(start + size)
        return answer

    def get_dataset(self, project: str, dataset: str) -> dict[str, Any]:
        if self.faults.dataset_error is not None:
            status = self.faults.dataset_error
            reason = DATASET_ERRORS[status]
            raise ApiError(status, reason, f"Error {status} asking for {dataset}")
        self._require_dataset(project, dataset)
        return {
            "kind": "bigquery#dataset",
            "id": f"{project}:{dataset}",
            "datasetReference": {"projectId": project, "datasetId": dataset},
            "location": LOCATION,
        }

    def get_table(self, project: str, dataset: str, table: str) -> dict[str, Any]:
        self._require_dataset(project, dataset)
        with self.lock:
            self._require_table(project, table)
            described = self.db.execute(
                f'SELECT * FROM "{dataset}"."{table}" LIMIT 0'
            ).to_arrow_table()
            count = self.db.execute(f'SELECT count(*) FROM "{dataset}"."{table}"').fetchone()
        if table in self.faults.new_columns:
            described = _with_new_column(described)
        return self._table_ref(project, dataset, table) | {
            "kind": "bigquery#table",
            "type": "VIEW" if table in self.faults.views else "TABLE",
            "schema": {"fields": _fields(_arrow_schema(described))},
            "numRows": str(count[0] if count else 0),
            "location": LOCATION,
        }

    def run_query(self, project: str, body: dict[str, Any]) -> Job:
        sql = body.get("query")
        if not isinstance(sql, str) or not sql.strip():
            raise ApiError(400, "invalid", "the request has no query")
        if body.get("useLegacySql"):
            raise ApiError(400, "invalidQuery", "legacy SQL is not served; set useLegacySql false")
        tables = {m.group(3) for m in _TABLE_REF.finditer(sql)}
        timestamps: TimestampForm
        if tables & self.faults.iso_timestamps:
            timestamps = "iso"
        elif tables & self.faults.seconds_timestamps or not _int64_timestamps(body):
            timestamps = "seconds"
        else:
            timestamps = "micros"
        with self.lock:
            self._queries += 1
            translated = _TABLE_REF.sub(lambda m: self._resolve(project, m), sql)
            params = _parameters(body.get("queryParameters") or [])
            try:
                result = self.db.sql(_PARAM.sub(r"$\1", translated), params=params).to_arrow_table()
            except duckdb.Error as exc:
                raise ApiError(400, "invalidQuery", f"Query error: {exc}") from None
        if tables & self.faults.new_columns:
            result = _with_new_column(result)
        if tables & self.faults.pending_vins:
            result = _with_pending_vins(result)
        # Rows are built from the query's own Arrow result, outside the lock, so concurrent
        # queries wait only for the shared connection.
        job = Job(
            project,
            body.get("jobId") or f"job_{uuid.uuid4().hex}",
            sql,
            _fields(_arrow_schema(result)),
            _rows(result, timestamps=timestamps),
            int(time.time() * 1000),
        )
        with self.lock:
            self.jobs[job.job_id] = job
            while len(self.jobs) > KEPT_JOBS:
                self.jobs.popitem(last=False)
        return job

    def job(self, job_id: str) -> Job:
        with self.lock:
            found = self.jobs.get(job_id)
        if found is None:
            raise ApiError(404, "notFound", f"Not found: Job {job_id}")
        return found

    def results(self, job: Job, query: dict[str, str], *, first: bool, kind: str) -> dict[str, Any]:
        """One page of a job's rows, from `pageToken` (or `startIndex`), `maxResults` long."""
        start = int(query.get("pageToken") or query.get("startIndex") or 0)
        if start and not first and self.faults.slow_page_s > 0:
            time.sleep(self.faults.slow_page_s)
        limit = query.get("maxResults")
        size = self.page_rows if limit in (None, "") else min(int(limit), self.page_rows)
        rows = job.rows[start : start + size]
        answer: dict[str, Any] = {
            "kind": kind,
            "etag": job.job_id,
            "schema": {"fields": job.fields},
            "jobReference": _job_ref(job),
            "totalRows": str(len(job.rows)),
            "jobComplete": True,
            "totalBytesProcessed": "0",
            "cacheHit": False,
            "queryId": job.job_id,
        }
        if rows:
            answer["rows"] = rows
        if start + size < len(job.rows):
            answer["pageToken"] = str(start + size)
        return answer

    def job_resource(self, job: Job) -> dict[str, Any]:
        return {
            "kind": "bigquery#job",
            "id": f"{job.project}:{LOCATION}.{job.job_id}",
            "jobReference": _job_ref(job),
            "configuration": {
                "jobType": "QUERY",
                "query": {
                    "query": job.query,
                    "useLegacySql": False,
                    "destinationTable": {
                        "projectId": job.project,
                        "datasetId": "_anonymous",
                        "tableId": f"anon_{job.job_id}",
                    },
                },
            },
            "status": {"state": "DONE"},
            "statistics": {
                "creationTime": str(job.created_ms),
                "startTime": str(job.created_ms),
                "endTime": str(job.created_ms),
                "query": {"totalBytesProcessed": "0", "statementType": "SELECT"},
            },
        }

    # -- helpers ------------------------------------------------------------------------------

    def _require_dataset(self, project: str, dataset: str) -> None:
        dropped = self.faults.drop_dataset_after
        with self.lock:
            gone = dropped is not None and self._queries > dropped
        if dataset != self.dataset or gone:
            raise ApiError(
                404,
                "notFound",
                f"Not found: Dataset {project}:{dataset} was not found in location {LOCATION}",
            )

    def _require_table(self, project: str, table: str) -> None:
        if table not in self.tables() or table in self.faults.dropped:
            raise ApiError(
                404,
                "notFound",
                f"Not found: Table {project}:{self.dataset}.{table} was not found in location "
                f"{LOCATION}",
            )

    def _resolve(self, project: str, match: re.Match[str]) -> str:
        ref_project, dataset, table = match.group(1) or project, match.group(2), match.group(3)
        self._require_dataset(ref_project, dataset)
        self._require_table(ref_project, table)
        if table in self.faults.query_errors:
            raise ApiError(
                400, "invalidQuery", f"Query error: cannot read {dataset}.{table} (injected)"
            )
        if table in self.faults.backend_errors and (self.day, table) not in self._failed_once:
            self._failed_once.add((self.day, table))
            raise ApiError(503, "backendError", "Error encountered during execution. Retrying.")
        return f'"{dataset}"."{table}"'

    def _table_ref(self, project: str, dataset: str, table: str) -> dict[str, Any]:
        return {
            "id": f"{project}:{dataset}.{table}",
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
        }


def _job_ref(job: Job) -> dict[str, str]:
    return {"projectId": job.project, "jobId": job.job_id, "location": LOCATION}


def _int64_timestamps(body: dict[str, Any]) -> bool:
    options = body.get("formatOptions") or {}
    return bool(options.get("useInt64Timestamp"))


def _parameters(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Named query parameters as DuckDB values; positional ones are not served."""
    bound: dict[str, Any] = {}
    for item in items:
        name = item.get("name")
        if not name:
            raise ApiError(400, "invalidQuery", "positional query parameters are not served")
        kind = (item.get("parameterType") or {}).get("type", "STRING")
        raw = (item.get("parameterValue") or {}).get("value")
        if raw is None:
            bound[name] = None
        elif kind == "DATE":
            bound[name] = dt.date.fromisoformat(raw)
        elif kind in ("INT64", "INTEGER"):
            bound[name] = int(raw)
        elif kind == "TIMESTAMP":
            bound[name] = dt.datetime.fromisoformat(raw.replace(" UTC", "+00:00"))
        elif kind == "STRING":
            bound[name] = str(raw)
        else:
            raise ApiError(400, "invalidQuery", f"parameter {name}: type {kind} is not served")
    return bound


def _with_new_column(table: pa.Table) -> pa.Table:
    """The table with the `new_column` fault's column on every row."""
    name, value = NEW_COLUMN
    return table.append_column(name, pa.array([value] * table.num_rows, pa.string()))


def _with_pending_vins(table: pa.Table) -> pa.Table:
    """The table with `PENDING` for every null VIN, as a portal may write a unit not yet built."""
    index = table.schema.get_field_index("vin")
    if index < 0:
        return table
    return table.set_column(index, "vin", pc.fill_null(table.column(index), PENDING_VIN))


def _arrow_schema(table: pa.Table | pa.RecordBatchReader) -> pa.Schema:
    return table.schema


def _bq_type(kind: pa.DataType) -> str:
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_integer(kind):
        return "INTEGER"
    if pa.types.is_floating(kind):
        return "FLOAT"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    return "STRING"


def _fields(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": _bq_type(f.type), "mode": "NULLABLE"} for f in schema]


def _rows(
    result: pa.Table | pa.RecordBatchReader, *, timestamps: TimestampForm
) -> list[dict[str, Any]]:
    """Rows in BigQuery's wire form: `{"f": [{"v": "text"}, ...]}`, every value a string, and
    TIMESTAMPs in `micros`, `seconds` or `iso` form."""
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    encoders = [_encoder(f.type, timestamps) for f in table.schema]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [
        {
            "f": [
                {"v": None if v is None else enc(v)}
                for enc, v in zip(encoders, values, strict=True)
            ]
        }
        for values in zip(*columns, strict=True)
    ]


def _encoder(kind: pa.DataType, timestamps: TimestampForm) -> Any:
    if pa.types.is_timestamp(kind):

        def stamp(value: dt.datetime) -> str:
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            if timestamps == "iso":
                return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            micros = round(aware.timestamp() * 1_000_000)
            if timestamps == "micros":
                return str(micros)
            # Seconds as BigQuery writes them: the shortest digits, in E notation.
            seconds = (Decimal(micros) / 1_000_000).normalize()
            return format(seconds, "E").replace("E+", "E")

        return stamp
    if pa.types.is_date(kind):
        return lambda value: value.isoformat()
    if pa.types.is_boolean(kind):
        return lambda value: "true" if value else "false"
    return str


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DealerConnectHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are counted in the state, not logged line by line

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        backend = self.server.backend
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = orjson.loads(raw) if raw else {}
            status, payload = 200, self._route(backend, method, url.path, query, body)
        except ApiError as exc:
            status, payload = exc.status, exc.payload()
        except (orjson.JSONDecodeError, FaultSpecError, ValueError) as exc:
            status, payload = 400, ApiError(400, "invalid", str(exc)).payload()
        except Exception as exc:  # a stand-in bug: answered as BigQuery answers its own
            status, payload = 500, ApiError(500, "internalError", repr(exc)).payload()
        data = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(
        self,
        backend: DealerConnectBackend,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
    ) -> dict[str, Any]:
        if path.startswith("/_sim/"):
            name = path.removeprefix("/_sim/").strip("/")
            if name == "health":
                return {"ready": True, "date": backend.day.isoformat()}
            if name == "state" and method == "GET":
                return backend.state()
            if name == "state" and method == "POST":
                return backend.set_state(body.get("date"), body.get("faults"))
            raise ApiError(404, "notFound", f"no control route {path}")
        if not path.startswith(API):
            raise ApiError(404, "notFound", f"no route {method} {path}")
        parts = path.removeprefix(API).strip("/").split("/")
        project, rest = parts[0], parts[1:]
        tables = len(rest) >= 3 and rest[0] == "datasets" and rest[2] == "tables"
        if method == "GET" and tables and len(rest) == 3:
            backend.count("tables.list")
            return backend.list_tables(project, rest[1], query)
        if method == "GET" and len(rest) == 2 and rest[0] == "datasets":
            backend.count("datasets.get")
            return backend.get_dataset(project, rest[1])
        if method == "GET" and tables and len(rest) == 4:
            backend.count("tables.get")
            return backend.get_table(project, rest[1], rest[3])
        if method == "POST" and rest == ["queries"]:
            backend.count("jobs.query")
            job = backend.run_query(project, body)
            return backend.results(job, body, first=True, kind="bigquery#queryResponse")
        if method == "GET" and len(rest) == 2 and rest[0] == "queries":
            backend.count("jobs.getQueryResults")
            job = backend.job(rest[1])
            if any(m.group(3) in backend.faults.lost_jobs for m in _TABLE_REF.finditer(job.query)):
                raise ApiError(404, "notFound", f"Not found: Job {project}:{LOCATION}.{job.job_id}")
            return backend.results(job, query, first=False, kind="bigquery#getQueryResultsResponse")
        if method == "POST" and rest == ["jobs"]:
            backend.count("jobs.insert")
            config = ((body.get("configuration") or {}).get("query")) or {}
            reference = body.get("jobReference") or {}
            job = backend.run_query(project, config | {"jobId": reference.get("jobId")})
            return backend.job_resource(job)
        if method == "GET" and len(rest) == 2 and rest[0] == "jobs":
            backend.count("jobs.get")
            return backend.job_resource(backend.job(rest[1]))
        raise ApiError(404, "notFound", f"no route {method} {path}")


class DealerConnectHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: DealerConnectBackend) -> None:
        super().__init__(address, _Handler)
        self.backend = backend
