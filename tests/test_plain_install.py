"""A plain `pip install .` (no extras) runs every process of the project.

The dependencies come from a fresh virtualenv holding only what `pip install .` of this
checkout installs (no test extra); the code runs from the checkout, as in the Docker image.
The virtualenv is cached under ~/.cache/fundboard/plain-install, keyed by a hash of
pyproject.toml: it is built once (about 15 s), and the project alone is reinstalled (no
dependencies, a few seconds) when the package's file list changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from fundboard.sandbox.server import free_port

from .support import REPO, FundboardServer, http, redis_url, wait_for

CACHE = Path(os.environ.get("FUNDBOARD_PLAIN_VENV_CACHE", Path.home() / ".cache/fundboard"))
# Loaded from the sandbox by the server's embedded poller: proof the whole path ran.
PAGES_TOTAL = "4705.50"


def _package_files() -> list[str]:
    return sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "fundboard").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _install_project(python: Path) -> None:
    """`pip install .` from a copy, so the build leaves nothing in the shared checkout."""
    with tempfile.TemporaryDirectory(prefix="fundboard-plain-") as tmp:
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copy(REPO / name, tmp)
        shutil.copytree(
            REPO / "fundboard",
            Path(tmp) / "fundboard",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        installed = python.parent.parent / ".installed"
        no_deps = ["--no-deps", "--force-reinstall"] if installed.exists() else []
        # The tests' own pip installs into the plain virtualenv (`--python`), which then needs
        # no pip of its own; --no-compile leaves byte-compiling to the first import. Together
        # they took a cold build from ~25 to ~8 CPU-s (CI always builds it cold).
        pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile"]
        subprocess.run(
            [*pip, "--disable-pip-version-check", *no_deps, tmp],
            check=True,
            capture_output=True,
            timeout=900,
        )


@pytest.fixture(scope="session")
def plain_python() -> str:
    """The interpreter of a virtualenv made with only `pip install .` of this checkout."""
    pyproject = (REPO / "pyproject.toml").read_bytes()
    venv = CACHE / f"plain-install-{_digest(pyproject)}"
    python = venv / "bin" / "python"
    files_key = _digest(*(name.encode() for name in _package_files()))
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "plain-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one pytest process builds it, the others wait
        installed = venv / ".installed"
        if not installed.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(
                [sys._base_executable, "-m", "venv", "--without-pip", venv], check=True, timeout=300
            )
        if not installed.exists() or installed.read_text() != files_key:
            _install_project(python)
            installed.write_text(files_key)
    # Plain: the test extra is absent.
    probe = subprocess.run([python, "-c", "import pytest"], capture_output=True)
    assert probe.returncode != 0, "the plain virtualenv has the test extra"
    return str(python)


def _plain_env(python: str) -> dict[str, str]:
    """The plain interpreter's environment: nothing from the development virtualenv."""
    bin_dir = str(Path(python).parent)
    return {"PYTHONPATH": "", "VIRTUAL_ENV": "", "PATH": f"{bin_dir}:/usr/bin:/bin"}


def _campaign(sandbox_url: str) -> str:
    from fundboard.sandbox import actionnetwork

    return f"""
[[campaign]]
slug = "drive"
name = "Drive"
goal = "10000"
  [[campaign.source]]
  kind = "actionnetwork"
  name = "Pages"
  base_url = "{sandbox_url}"
  api_key = "{actionnetwork.API_KEY}"
  ids = {{ all_pages = true }}
  poll_interval = 5
"""


@pytest.fixture(scope="module")
def plain_sandbox(plain_python, tmp_path_factory):
    """`python -m fundboard.sandbox` run by the plain install."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("sandbox") / "sandbox.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [plain_python, "-m", "fundboard.sandbox", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **_plain_env(plain_python)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, f"the sandbox exited: {Path(log.name).read_text()}"
        try:
            return http.get(f"{url}/_sandbox/actionnetwork/state", timeout=1).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, timeout=30, interval=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_the_plain_install_ships_the_translations(plain_python, tmp_path):
    """`pip install .` must carry the .mo files (package data), or widgets fall back to English."""
    where = subprocess.run(
        [plain_python, "-c", "import fundboard; print(fundboard.__file__)"],
        cwd=tmp_path,  # not the checkout: the installed package is imported
        env={**os.environ, **_plain_env(plain_python)},
        capture_output=True,
        text=True,
        check=True,
    )
    package = Path(where.stdout.strip()).parent
    assert Path(plain_python).parent.parent in package.parents  # inside the plain virtualenv
    for lang in ("es", "fr", "de", "pt_BR"):
        assert (package / f"widgets/locale/{lang}/LC_MESSAGES/django.mo").is_file()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_serve_from_a_plain_install_answers_a_websocket_snapshot(
    server, plain_python, plain_sandbox, fundboard_server
):
    """migrate, loadcampaigns and serve (with its embedded poller) on the plain install."""
    board = fundboard_server(
        _campaign(plain_sandbox),
        python=plain_python,
        extra_env={**_plain_env(plain_python), "FUNDBOARD_ASGI_SERVER": server},
    )
    with board.live_client("drive") as client:
        client.wait_for_total(PAGES_TOTAL, timeout=30)  # polled from the sandbox, pushed live
    assert f"({server})" in board.log()  # the server asked for answered


class Process:
    """A long-running command of the plain install, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.log_file = open(log_path, "wb")  # noqa: SIM115 (the child's lifetime)
        self.process = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=self.log_file, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        def printed() -> bool:
            assert self.process.poll() is None, f"exited early:\n{self.log()[-3000:]}"
            return text in self.log()

        wait_for(printed, timeout=timeout, interval=0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


@pytest.mark.skipif(not redis_url(), reason="needs Redis: set FUNDBOARD_TEST_REDIS_URL")
def test_runstreams_and_celery_worker_and_beat_start_from_a_plain_install(
    plain_python, plain_sandbox, tmp_path
):
    board = FundboardServer(
        tmp_path,
        _campaign(plain_sandbox),
        python=plain_python,
        extra_env=_plain_env(plain_python),
    )
    env = {**board.env, "REDIS_URL": redis_url(), "FUNDBOARD_POLL_FLOOR_SECONDS": "1"}
    manage = [plain_python, str(REPO / "manage.py")]
    celery = [plain_python, "-m", "celery", "-A", "fundboard"]
    processes = []
    try:
        streams = Process([*manage, "runstreams"], env, tmp_path / "runstreams.log")
        processes.append(streams)
        worker_args = [
            *celery,
            "worker",
            "-l",
            "INFO",
            "-P",
            "solo",
            "-n",
            f"plain{os.getpid()}@%h",
        ]
        worker = Process(worker_args, env, tmp_path / "worker.log")
        processes.append(worker)
        beat_args = [*celery, "beat", "-l", "INFO", "--schedule", str(tmp_path / "beat-schedule")]
        beat = Process(beat_args, env, tmp_path / "beat.log")
        processes.append(beat)
        streams.wait_for_line("runstreams: consuming ImRaising streams")
        worker.wait_for_line(" ready.")
        # Beat's own log lines are quieted (WARNING); its banner is printed whatever the level,
        # and the total below can only arrive through a poll that beat dispatched.
        beat.wait_for_line("is starting.")
        # Beat dispatches, the worker polls the sandbox and stores what it found.
        total = (
            "from fundboard.live.snapshot import build_snapshot as b; print(b('drive')['total'])"
        )
        wait_for(lambda: PAGES_TOTAL in board.shell(total), timeout=60, interval=0.5)
        assert streams.process.poll() is None  # still running after the pollers' work
    except BaseException:
        for process in processes:
            print(process.log_path.name, process.log()[-3000:])
        raise
    finally:
        for process in processes:
            process.stop()
        board.close()
