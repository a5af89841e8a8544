"""What the bench scripts share: paths, ports, percentiles, the bench campaign, scratch
databases, the machine's load and Markdown tables.

The scripts run as `python bench/<script>.py`, so `bench/` is on sys.path and they say
`from common import ...`; importing this module also puts the repository on sys.path, for
`fundboard` and `tests.support`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
PY = sys.executable

__all__ = [
    "REPO",
    "PY",
    "BENCH_CAMPAIGN",
    "seed_code",
    "percentile",
    "free_port",
    "scratch_database",
    "drop_database",
    "machine_load",
    "print_table",
    "wait_until_ready",
]

# One campaign with a manual source, what most scripts load into a fresh database.
BENCH_CAMPAIGN = """
[[campaign]]
slug = "bench"
name = "Bench Drive"
goal = "100000"
currency = "USD"
milestones = ["25000", "50000", "75000"]
  [[campaign.source]]
  kind = "manual"
  name = "Bench feed"
"""

_SEED = """
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fundboard.campaigns.models import Source
from fundboard.ingest.services import ingest_donations
from fundboard.providers.records import DonationRecord
source = Source.objects.get(name="Bench feed")
start = datetime.now(UTC) - timedelta(hours=2)
records = [
    DonationRecord(f"b{{i}}", f"Donor {{i % {donors}}}", Decimal(5 + i % 95), "USD",
                   start + timedelta(seconds=i), message={message})
    for i in range({donations})
]
for chunk in range(0, len(records), 500):
    ingest_donations(source.pk, records[chunk:chunk + 500])
"""


def seed_code(donations: int, *, donors: int = 150, messages: bool = True) -> str:
    """Python for `FundboardServer.shell()`: `donations` donations into the bench campaign's
    source, one a second over the last two hours, by `donors` names."""
    message = '"Good luck!" if i % 3 else ""' if messages else '""'
    return _SEED.format(donations=donations, donors=donors, message=message)


def percentile(values: Sequence[float], q: float) -> float:
    """The value at quantile `q` (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    from fundboard.sandbox.server import free_port as pick

    return pick()


def scratch_database(postgres: str, prefix: str) -> str:
    """Point Django (this process's environment) at a fresh database: a new PostgreSQL
    database named `<prefix>_<random>` (returned) or, without `postgres`, a SQLite file in
    a temporary directory ("" returned)."""
    if not postgres:
        os.environ["FUNDBOARD_DATA_DIR"] = tempfile.mkdtemp(prefix=f"{prefix}-")
        os.environ.pop("DATABASE_URL", None)
        return ""
    import psycopg

    name = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + "/" + name
    return name


def drop_database(postgres: str, name: str) -> None:
    if name:
        import psycopg

        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine_load() -> str:
    """The load average beside the number of cores: figures compare only at similar load."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (cores: {os.cpu_count()})"


def wait_until_ready(clients: Iterable[subprocess.Popen]) -> None:
    """Client processes (fanout_clients.py, scale_clients.py) print `ready` once every
    socket of theirs is open: wait for each, or fail with what it said instead."""
    for client in clients:
        assert client.stdout is not None
        line = client.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"viewers failed to connect: {line!r}")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> None:
    """A Markdown table; `align` gives each column's alignment ("l" or "r", default l)."""
    align = align.ljust(len(headers), "l")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
