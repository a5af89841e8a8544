"""Fixtures shared by every test area: the sandbox over real HTTP and real Fundboard servers."""

from __future__ import annotations

import os
import tempfile

import pytest

import fundboard.sandbox.server
from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.server import SandboxServer

from .support import FundboardServer, free_port, postgres_url, redis_url

# Sandbox servers and the test modules that import free_port take this worker's own ports
# (tests/support.py says why). Set here, before any test module is imported.
fundboard.sandbox.server.free_port = free_port


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """Before a test's fixtures (its database) are torn down, let the broadcaster's snapshot
    reads of that test finish: one still in its transaction deadlocks PostgreSQL's TRUNCATE,
    and the next tests on that worker then meet the last one's rows. Bounded: 2 s at most."""
    from fundboard.live.broadcast import broadcaster

    broadcaster.wait_for_reads(timeout=2.0)
    return (yield)


def pytest_configure(config):
    isolate_xdist_worker_redis()


def isolate_xdist_worker_redis():
    """Under pytest-xdist, each worker gets Redis keys, channels and queues of its own.

    Settings read FUNDBOARD_REDIS_PREFIX once, before this runs, so the worker id is added
    to the settings derived from it and to the environment that subprocesses inherit: two
    workers' tests on the same campaign slug must never hear each other on the channel layer.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from django.conf import settings

    prefix = f"{settings.REDIS_PREFIX}-{worker}"
    settings.REDIS_PREFIX = prefix
    settings.CELERY_TASK_DEFAULT_QUEUE = f"{prefix}.polls"
    for layer in settings.CHANNEL_LAYERS.values():
        if "prefix" in layer.get("CONFIG", {}):
            layer["CONFIG"]["prefix"] = prefix
    os.environ["FUNDBOARD_REDIS_PREFIX"] = prefix


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """A test database of this run's own, so runs sharing one PostgreSQL never collide.

    SQLite's test database is a file (not the shared-cache in-memory default): the
    broadcaster and hub read snapshots in worker threads while a test writes, and only a
    file in WAL mode lets them wait for each other instead of failing with "table is locked".
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_fundboard_{os.getpid()}"
    elif database["ENGINE"].endswith("sqlite3"):
        folder = tempfile.mkdtemp(prefix="fundboard-test-db-")
        database.setdefault("TEST", {})["NAME"] = os.path.join(folder, "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def server_template_database(django_db_setup, django_db_blocker):
    """Servers' databases start as copies of this process's test database, as migrated."""
    from django.db import connection

    from .support import _templates

    with django_db_blocker.unblock():
        _templates.adopt(connection)


@pytest.fixture(scope="session", autouse=True)
def close_worker_thread_connections(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions that worker threads (snapshot
    reads of the broadcaster and hub) left open, or PostgreSQL refuses to drop it."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def fresh_snapshot_cache():
    """Each test starts with an empty in-memory snapshot cache: a campaign of an earlier
    test (rolled back, its id and slug reused) must not answer for this one's."""
    from fundboard.live.snapshot_cache import snapshot_cache
    from fundboard.widgets.page_cache import page_cache

    snapshot_cache.clear()
    page_cache.clear()
    yield
    snapshot_cache.clear()
    page_cache.clear()


@pytest.fixture
def sandbox_server():
    """The imitation platforms on a loopback port, fresh for each test (no generator)."""
    with SandboxServer(Sandbox(rate=0.0, seed=1)) as server:
        yield server


@pytest.fixture
def fundboard_server(tmp_path, django_db_blocker):
    """A factory: `fundboard_server(toml)` starts `manage.py serve` on its own database."""
    servers: list[FundboardServer] = []

    def start(campaigns_toml: str = "", *, start: bool = True, **kwargs) -> FundboardServer:
        server_dir = tmp_path / f"server{len(servers)}"
        server_dir.mkdir()
        kwargs.setdefault("db_blocker", django_db_blocker)
        server = FundboardServer(server_dir, campaigns_toml, **kwargs)
        servers.append(server)
        return server.start() if start else server

    yield start
    for server in servers:
        server.close()


def pytest_collection_modifyitems(config, items):
    # Browser tests last: Playwright's sync API keeps an event loop running in the main
    # thread while the session's browser is open, and asyncio.run() refuses to nest in it.
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))
    if postgres_url() and redis_url():
        return
    skip = pytest.mark.skip(
        reason="integration: set FUNDBOARD_TEST_POSTGRES_URL and FUNDBOARD_TEST_REDIS_URL "
        "(./dev test does)"
    )
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)
