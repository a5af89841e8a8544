"""Shared test machinery: a real Fundboard server in a subprocess, a websocket client, waits.

`FundboardServer` runs `manage.py serve` (daphne, plus embedded ingestion) against its own
database: a fresh SQLite file, or a fresh PostgreSQL database when FUNDBOARD_TEST_POSTGRES_URL
is set (with REDIS_URL then, the channels_redis layer). Tests talk to it over real HTTP and
real websockets, exactly as a browser or an overlay does.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, redirect_stdout
from functools import partial
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import httpx
import psycopg
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parent.parent

# Ports for test servers: each pytest-xdist worker scans a range of its own, below the
# kernel's ephemeral range (32768+), instead of asking the kernel for port 0. With port 0,
# a port probed and closed by one worker could be handed to another worker's server (or to
# an outgoing connection) before the first one's subprocess bound it; its readiness check then
# reached the other server and the test saw that server's 404s.
PORTS_PER_WORKER = 2500
FIRST_TEST_PORT = 10000
_next_port: dict[str, int] = {}


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now, from this worker's own range (see above)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    low = FIRST_TEST_PORT + (index % 8) * PORTS_PER_WORKER
    port = _next_port.get(host) or low + int.from_bytes(os.urandom(2)) % PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = low + (port + 1 - low) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _next_port[host] = port
        return port
    raise RuntimeError(f"no free port in {low}-{low + PORTS_PER_WORKER - 1}")


# httpx's `get`, `post`, ... make a client per call, and each new client loads the CA bundle
# into a new SSL context: ~50 ms of CPU on this 2-core machine (~1 ms with a context given),
# so polling a starting server every 0.1 s cost the pytest process more CPU than the server's
# own start (docs/testing.md). `http.get` etc. are the same calls, a fresh client each (no
# cookies or connections kept from one call to the next), with one context per process;
# clients the tests keep (`httpx.Client(...)`) take `verify=LOOPBACK_TLS` for the same reason.
LOOPBACK_TLS = ssl.create_default_context()
http = SimpleNamespace(
    **{
        name: partial(getattr(httpx, name), verify=LOOPBACK_TLS)
        for name in ("get", "post", "delete")
    }
)

__all__ = [
    "REPO",
    "LOOPBACK_TLS",
    "http",
    "FundboardServer",
    "LiveClient",
    "wait_for",
    "free_port",
    "postgres_url",
    "redis_url",
    "pg_connections",
]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def postgres_url() -> str:
    return os.environ.get("FUNDBOARD_TEST_POSTGRES_URL", "")


def redis_url() -> str:
    return os.environ.get("FUNDBOARD_TEST_REDIS_URL", "")


def pg_connections(database: str) -> int:
    """Sessions PostgreSQL holds open to one database (this query's own not counted)."""
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    return row[0]


class _Database:
    """A fresh database for one server: a SQLite file, or a new PostgreSQL database.

    Both start as a copy of a database this pytest process migrated once (see
    `_MigratedTemplates`): copying a file or `CREATE DATABASE ... TEMPLATE` takes
    milliseconds where `migrate` takes seconds of CPU, and most tests start a server.
    """

    def __init__(self, tmp: Path, use_postgres: bool):
        self.tmp = tmp
        self.pg_name = None
        if use_postgres:
            self.admin_url = postgres_url()
            self.pg_name = f"fb_test_{uuid.uuid4().hex[:12]}"

    def env(self) -> dict[str, str]:
        if self.pg_name:
            return {"DATABASE_URL": _pg_database_url(self.pg_name)}
        return {"DATABASE_URL": "", "FUNDBOARD_SQLITE_PATH": str(self.tmp / "fundboard.sqlite3")}

    def create_migrated(self, env: dict[str, str]) -> None:
        """Make the database as a copy of this process's migrated template."""
        if self.pg_name:
            template = _templates.postgres(env)
            _admin_sql(self.admin_url, f'CREATE DATABASE "{self.pg_name}" TEMPLATE "{template}"')
        else:
            shutil.copyfile(_templates.sqlite(env), self.tmp / "fundboard.sqlite3")

    def create_empty(self) -> None:
        """An unmigrated database, for a server whose own interpreter migrates it."""
        if self.pg_name:
            _admin_sql(self.admin_url, f'CREATE DATABASE "{self.pg_name}"')

    def drop(self) -> None:
        if self.pg_name:
            _admin_sql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


_orm_thread = threading.local()  # set while a server's orm() work runs in this thread


@contextmanager
def _default_database(database: dict) -> Iterator[None]:
    """Django's `default` connection, in this thread only, to another database."""
    from django.db import connections
    from django.db.utils import load_backend

    saved = connections["default"]
    connection = load_backend(database["ENGINE"]).DatabaseWrapper(database, "default")
    connections["default"] = connection
    try:
        yield
    finally:
        connection.close()
        connections["default"] = saved


@contextmanager
def _announcements_dropped() -> Iterator[None]:
    """The live broadcaster of this (test) process drops what it is given meanwhile."""
    from fundboard.live.broadcast import broadcaster

    broadcaster._submit = lambda coro: coro.close()  # type: ignore[method-assign]
    try:
        yield
    finally:
        del broadcaster._submit


def _pg_database_url(name: str) -> str:
    return f"{postgres_url().rsplit('/', 1)[0]}/{name}"


class _MigratedTemplates:
    """One migrated database per kind and pytest process (each xdist worker has its own),
    made on first use and copied for every server; the PostgreSQL one is dropped at exit."""

    def __init__(self) -> None:
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def adopt(self, connection) -> None:
        """Take the pytest process's freshly made test database (pytest-django migrated it,
        post_migrate signals and all) as the template, instead of migrating another one in a
        subprocess (~2-3 s of CPU per pytest worker). Called before the first test runs.
        pytest-django makes the test database only if some collected test asks for one:
        without it, the template is migrated on first use as before."""
        if connection.settings_dict["NAME"] != connection.settings_dict.get("TEST", {}).get("NAME"):
            return  # no test database was made in this session
        if connection.vendor == "sqlite" and self._sqlite is None:
            path = _sqlite_template_path()
            connection.ensure_connection()
            with closing(sqlite3.connect(path)) as copy:
                connection.connection.backup(copy)  # consistent, WAL included
            self._sqlite = path
        elif (
            connection.vendor == "postgresql"
            and self._postgres is None
            and _same_server(connection.settings_dict)
        ):
            source = connection.settings_dict["NAME"]
            # A template may have no other session while it is copied: the pool's too.
            connection.close()
            if hasattr(connection, "close_pool"):
                connection.close_pool()
            self._postgres = _postgres_template(f'TEMPLATE "{source}"')

    def sqlite(self, env: dict[str, str]) -> Path:
        if self._sqlite is None:
            path = _sqlite_template_path()
            _migrate({**env, "DATABASE_URL": "", "FUNDBOARD_SQLITE_PATH": str(path)})
            self._sqlite = path
        return self._sqlite

    def postgres(self, env: dict[str, str]) -> str:
        if self._postgres is None:
            name = _postgres_template()
            _migrate({**env, "DATABASE_URL": _pg_database_url(name)})
            self._postgres = name
        return self._postgres


def _sqlite_template_path() -> Path:
    return Path(tempfile.mkdtemp(prefix="fundboard-template-")) / "template.sqlite3"


def _postgres_template(options: str = "") -> str:
    """A new template database of this process (`options`: e.g. a TEMPLATE to copy), dropped
    at exit."""
    name = f"fb_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin_sql(postgres_url(), f'CREATE DATABASE "{name}" {options}'.rstrip())
    atexit.register(_drop_postgres_database, name)
    return name


def _same_server(database: dict) -> bool:
    """Whether Django's `database` lives on the PostgreSQL the servers' databases are made on."""
    from fundboard.settings import url_database

    url = postgres_url()
    if not url:
        return False
    target = url_database(url)
    return (database.get("HOST"), str(database.get("PORT"))) == (
        target.get("HOST"),
        str(target.get("PORT")),
    )


def _migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "-v0"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _drop_postgres_database(name: str) -> None:
    _admin_sql(postgres_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_sql(url: str, statement: str, attempts: int = 3) -> None:
    """CREATE or DROP DATABASE on a fresh connection, tried again if the connection is cut.

    The PostgreSQL here is shared with other test runs, and a session of theirs ending
    connections ("terminating connection due to administrator command") cut ours three times
    in a day. A CREATE that did commit before the cut finds its database on the next try.
    """
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(statement)
            return
        except psycopg.errors.DuplicateDatabase:
            if attempt == 1:
                raise  # a name clash of our own, not a retry finding its own database
            return
        except psycopg.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


_templates = _MigratedTemplates()


class FundboardServer:
    """`manage.py serve` in a subprocess with its own database and port."""

    def __init__(
        self,
        tmp: Path,
        campaigns_toml: str = "",
        *,
        extra_env: dict[str, str] | None = None,
        use_postgres: bool | None = None,
        ingest: bool = True,
        python: str = sys.executable,
        db_blocker=None,
    ):
        self.tmp = tmp
        self.python = python  # another venv's interpreter: the plain-install test
        self.port = free_port()
        use_postgres = bool(postgres_url()) if use_postgres is None else use_postgres
        self.database = _Database(tmp, use_postgres)
        self.env = {
            **os.environ,
            # production's settings with a fast password hasher (tests/settings.py); another
            # installation runs production's own
            "DJANGO_SETTINGS_MODULE": (
                "tests.settings" if python == sys.executable else "fundboard.settings"
            ),
            "FUNDBOARD_DATA_DIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
            **self.database.env(),
            "FUNDBOARD_REDIS_PREFIX": f"fbtest{uuid.uuid4().hex[:10]}",
        }
        self.env.pop("REDIS_URL", None)
        if use_postgres and redis_url():
            self.env["REDIS_URL"] = redis_url()
        self.env.update(extra_env or {})
        self.ingest = ingest
        # pytest-django's blocker, set by the `fundboard_server` fixture: with it, setup runs
        # in this process on the server's database (`orm`) instead of in a subprocess.
        self.db_blocker = db_blocker if python == sys.executable else None
        self.process: subprocess.Popen | None = None
        self.log_path = tmp / f"serve-{self.port}.log"
        if python == sys.executable:
            self.database.create_migrated(self.env)
        else:  # another installation: its own `migrate` is part of what is tested
            self.database.create_empty()
            self.manage("migrate", "-v0")
        if campaigns_toml:
            self.load(campaigns_toml)

    # --- management commands against the same database -------------------------------------

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.python, str(REPO / "manage.py"), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def load(self, campaigns_toml: str, *, in_process: bool = False) -> None:
        """`manage.py loadcampaigns`; `in_process`: through `orm` even while the server runs,
        for campaigns no one watches yet (nothing the command announces needs hearing)."""
        path = self.tmp / f"campaigns-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(campaigns_toml)
        if (self.process is None or in_process) and self.db_blocker is not None:
            # Before the server starts nobody could hear the command's announcements, so
            # running it here changes nothing but the ~1 s of CPU a Django process start costs.
            from django.core.management import call_command

            self.orm(lambda: call_command("loadcampaigns", str(path), stdout=StringIO()))
        else:
            self.manage("loadcampaigns", str(path))

    def shell(self, code: str) -> str:
        """Run Python in a Django shell against this server's database; returns stdout.

        A real other process, as a poller or the dashboard would be: what it commits reaches a
        running server the way production's writes do (with Redis, its announcements too).
        For setup and reads, `orm` does the same work in this process without a Django start.
        """
        return self.manage("shell", "-c", code).stdout

    def orm(self, work: Callable[[], object]) -> object:
        """Run `work()` in this process with Django's default database switched to this
        server's, for setup (users, campaigns) and reads; returns what it returns.

        Announcements this process would make are dropped: no server hears this process's
        channel layer (a running server's prefix is its own), and `shell` is there for writes
        a running server must learn about as it would from another process.
        """
        if self.db_blocker is None:
            raise RuntimeError("orm() needs the server from the fundboard_server fixture")
        if getattr(_orm_thread, "active", False):
            return self._orm_here(work)  # nested: already in a thread of its own
        # A thread of its own: Django refuses ORM calls from a thread with a running event
        # loop (SynchronousOnlyOperation), and Playwright's sync API keeps one running in the
        # main thread once a browser is open; the swapped connection is thread-local anyway.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self._orm_here, work).result()

    def _orm_here(self, work: Callable[[], object]) -> object:
        outer, _orm_thread.active = getattr(_orm_thread, "active", False), True
        with (
            self.db_blocker.unblock(),
            _default_database(self._database_settings()),
            _announcements_dropped(),
            redirect_stdout(StringIO()),
        ):
            try:
                return work()
            finally:
                _orm_thread.active = outer

    def _database_settings(self) -> dict:
        from django.db import connections

        from fundboard.settings import sqlite_database, url_database

        url = self.env.get("DATABASE_URL", "")
        database = url_database(url) if url else sqlite_database(self.env["FUNDBOARD_SQLITE_PATH"])
        database.get("OPTIONS", {}).pop("pool", None)  # one short-lived connection, no pool
        return connections.configure_settings({"default": database})["default"]

    # --- the server process ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FundboardServer:
        args = [self.python, str(REPO / "manage.py"), "serve", "--port", str(self.port)]
        args.append("--ingest" if self.ingest else "--no-ingest")
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(args, env=self.env, cwd=REPO, stdout=log, stderr=log)
        wait_for(self._answers, timeout=30, interval=0.1)
        return self

    def _answers(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{self.log()}")
        try:
            return http.get(self.url + "/admin/login/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        self.database.drop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- what viewers see --------------------------------------------------------------------

    def snapshot(self, slug: str) -> dict:
        response = http.get(f"{self.url}/api/v1/campaigns/{slug}", timeout=5)
        response.raise_for_status()
        return response.json()

    def total(self, slug: str) -> str:
        return self.snapshot(slug)["total"]

    def live_client(self, slug: str, query: str = "", *, stalling: bool = False) -> LiveClient:
        url = f"ws://127.0.0.1:{self.port}/ws/campaigns/{slug}"
        url = f"{url}?{query}" if query else url
        if not stalling:
            return LiveClient(url, origin=self.url)
        # A viewer that stops reading when it is not asked for messages: one message held,
        # then its socket is left unread, with a small receive buffer (a phone on a bad
        # network, a frozen browser tab). On loopback the server's send buffer still grows
        # to megabytes, so a few hundred messages stay in the kernel.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.port))
        return LiveClient(url, origin=self.url, sock=sock, max_queue=1)


class LiveClient:
    """A real websocket client that keeps every message it receives."""

    def __init__(self, url: str, origin: str, **options):
        # Like a browser, it reads whatever arrives, asked for or not (max_queue=None).
        options = {"open_timeout": 10, "max_queue": None, **options}
        self.connection: ClientConnection = connect(url, origin=origin, **options).__enter__()
        self.messages: list[dict] = []

    def receive(self, timeout: float = 10.0) -> dict:
        message = json.loads(self.connection.recv(timeout=timeout))
        self.messages.append(message)
        return message

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """Read messages until one matches (messages read on the way are kept)."""
        for message in self.messages:
            if predicate(message):
                return message
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching message within {timeout}s; got {self.messages[-5:]}"
                )
            try:
                message = self.receive(timeout=remaining)
            except TimeoutError:
                continue
            if predicate(message):
                return message

    def wait_for_total(self, total: str, timeout: float = 10.0) -> dict:
        return self.wait_for(
            lambda m: m["type"] == "snapshot" and m["data"]["total"] == total, timeout
        )

    def of_type(self, message_type: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == message_type]

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
