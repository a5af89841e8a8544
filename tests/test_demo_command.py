"""`manage.py demo` as a new user runs it: one instance at a time, restarts that keep state.

Each test runs the real command in a subprocess on the embedded defaults (SQLite in a data
folder of its own, the in-memory layer, the sandbox generating donations) and reads the demo
campaign through the public JSON API, as a viewer would.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from fundboard.sandbox.server import free_port

from .support import REPO, http, wait_for


def _hear_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python installs KeyboardInterrupt on it


class Demo:
    def __init__(self, data_dir: Path, port: int, *extra: str):
        self.data_dir, self.port = data_dir, port
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fundboard.settings",
            "FUNDBOARD_DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("FUNDBOARD_SQLITE_PATH", None)
        self.log = open(data_dir / f"demo-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port), "--rate", "20", *extra],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Ctrl-C in a terminal, as stop() imitates, reaches a demo that listens for it: a
            # shell starting this run in the background (CI's, often) left SIGINT ignored, a
            # setting children inherit, so each stop() waited 20 s and then killed the demo.
            preexec_fn=_hear_sigint,
        )

    def snapshot(self) -> dict | None:
        try:
            reply = http.get(f"http://127.0.0.1:{self.port}/api/v1/campaigns/demo", timeout=5)
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                message = f"the demo ignored Ctrl-C (SIGINT):\n{self.output()}"
                raise AssertionError(message) from None
        self.log.close()


@pytest.fixture
def demos(tmp_path):
    started: list[Demo] = []

    def start(*extra: str, port: int | None = None, data_dir: Path = tmp_path) -> Demo:
        demo = Demo(data_dir, port or free_port(), *extra)
        started.append(demo)
        return demo

    yield start
    for demo in started:
        demo.stop()


def _with_donations(demo: Demo, at_least: int = 1) -> dict:
    def ready():
        snapshot = demo.snapshot()
        return snapshot if snapshot and snapshot["donation_count"] >= at_least else None

    return wait_for(ready, timeout=90, interval=0.5)


def test_a_second_demo_stops_at_once_and_leaves_the_first_alone(demos, tmp_path):
    first = demos()
    before = _with_donations(first)

    second = demos()  # same data folder, another port
    assert second.process.wait(timeout=30) != 0
    assert "another demo is already running" in second.output()

    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    third = demos(port=first.port, data_dir=elsewhere)  # another folder, the same port
    assert third.process.wait(timeout=30) != 0
    assert "already in use" in third.output()

    # The first demo still serves and its sources still feed it.
    after = _with_donations(first, at_least=before["donation_count"] + 1)
    assert {source["status"] for source in after["sources"]} <= {"ok", "unknown"}


def test_a_restart_keeps_staff_edits_donations_and_totals(demos, tmp_path):
    first = demos()
    before = _with_donations(first, at_least=5)
    first.stop()

    # A staff member's edit while the demo was stopped (as the dashboard would make it).
    with sqlite3.connect(tmp_path / "fundboard.sqlite3") as db:
        db.execute("UPDATE campaigns_campaign SET goal = 12345 WHERE slug = 'demo'")

    second = demos(port=first.port)
    again = _with_donations(second, at_least=before["donation_count"])
    assert again["goal"] == "12345.00"
    # Nothing stored was removed by reconciliation against an empty sandbox, and the polled
    # platforms still report what they had: the total never falls back.
    time.sleep(3)
    later = second.snapshot()
    assert later["donation_count"] >= before["donation_count"]
    assert Decimal(later["total"]) >= Decimal(before["total"])

    second.stop()
    fresh = demos("--reset", port=first.port)
    reset = wait_for(fresh.snapshot, timeout=90, interval=0.5)
    assert reset["goal"] == "25000.00"
