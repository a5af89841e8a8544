"""`manage.py demo`: the sandbox platforms, a demo campaign fed by all three, and `serve`.

Everything runs in this one process on the embedded defaults (SQLite, in-memory channel
layer): the sandbox on its own loopback port, the stream runner and pollers inside the
server. Nothing outside this machine is contacted.

A restart keeps what the last run had: the sandbox's platforms (saved under the data folder,
with the sandbox's port, so the sources' addresses stay the same), the stored donations, the
staff's edits to the demo campaign and the demo login. `--reset` starts everything afresh.
A second demo while one runs stops before touching anything.
"""

import contextlib
import errno
import fcntl
import secrets
import socket
import threading
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from fundboard.campaigns.loader import load_campaigns
from fundboard.campaigns.models import Campaign
from fundboard.incentives.demo import demo_marathon
from fundboard.sandbox import actionnetwork, imraising, p2p
from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.persistence import load_sandbox, restore_into, save_sandbox
from fundboard.sandbox.server import SandboxServer

DEMO_USER = "demo"
# A known password only while the demo listens on loopback; anywhere else a random one.
LOOPBACK_PASSWORD = "demo-password"  # noqa: S105
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
WIDGETS = ["thermometer", "leaderboard", "top-donors", "ticker", "alerts"]
DEMO_SLUG = "demo"
SAVE_EVERY_SECONDS = 10  # the sandbox's data survives even a kill, give or take this


def demo_config(sandbox_url: str) -> dict:
    """The demo campaign: one goal fed by ImRaising, Action Network pages and a P2P walk."""
    return {
        "campaign": [
            {
                "slug": "demo",
                "name": "Fundboard Demo Marathon",
                "goal": "25000",
                "currency": "USD",
                "milestones": ["5000", "10000", "20000"],
                **demo_marathon(),  # runs and incentives (fundboard/incentives/demo.py)
                "source": [
                    {
                        "kind": "imraising",
                        "name": "Stream donations (ImRaising)",
                        "base_url": sandbox_url,
                        "api_key": imraising.ADVANCED_KEY,
                        "poll_interval": 60,
                    },
                    {
                        "kind": "actionnetwork",
                        "name": "Action Network pages",
                        "base_url": sandbox_url,
                        "api_key": actionnetwork.API_KEY,
                        "ids": {"all_pages": True},
                        "poll_interval": 10,
                    },
                    {
                        "kind": "p2p",
                        "name": "Charity walk (P2P)",
                        "base_url": sandbox_url,
                        "api_key": p2p.API_KEY,
                        "ids": {"event_id": p2p.DEMO_EVENT_ID},
                        "poll_interval": 5,
                    },
                    {"kind": "manual", "name": "Cheques and cash"},
                ],
            }
        ]
    }


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@contextlib.contextmanager
def single_demo(lock_path: Path):
    """Hold the demo's lock file for as long as it runs; a second demo fails at once."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(
                f"another demo is already running on this data folder ({lock_path.parent}); "
                "stop it first (Ctrl-C in its terminal)"
            ) from None
        yield


class Command(BaseCommand):
    help = "Run the live demo: sandbox platforms + a demo campaign + the server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--sandbox-port", type=int, default=0, help="default: the last run's, else any free"
        )
        parser.add_argument("--rate", type=float, default=1.5, help="donations per second")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="start afresh: empty sandbox, the demo campaign as shipped, a new demo login",
        )

    def handle(self, *args, host, port, sandbox_port, rate, reset, **options):
        data_dir = Path(settings.DATA_DIR)
        with single_demo(data_dir / "demo.lock"):
            if not port_is_free(host, port):
                raise CommandError(
                    f"{host}:{port} is already in use (another demo or server?); "
                    "stop it or choose another port with --port"
                )
            call_command("migrate", verbosity=0)
            state_path = data_dir / "demo-sandbox.pickle"
            saved = None if reset else load_sandbox(state_path)
            sandbox = Sandbox(rate=rate)
            if saved is not None:
                restore_into(sandbox, saved)
                sandbox_port = sandbox_port or self._saved_port(saved.port)
            server = SandboxServer(sandbox, port=sandbox_port).start()
            stop_saving = self._keep_saving(state_path, server)
            try:
                same_sandbox = saved is not None and server.port == saved.port
                self._ensure_campaign(server.url, fresh=reset, same_sandbox=same_sandbox)
                password = self._ensure_demo_user(host, reset=reset)
                self._print_urls(host, port, password, server.url, rate)
                call_command("serve", host=host, port=port, ingest=True)
            finally:
                stop_saving()
                server.stop()
                save_sandbox(state_path, server.sandbox, server.port)

    @staticmethod
    def _saved_port(port: int) -> int:
        if not port_is_free("127.0.0.1", port):
            raise CommandError(
                f"the demo's sandbox port {port} is in use; free it, or pass --sandbox-port PORT "
                "(or --reset) to start the sandbox elsewhere"
            )
        return port

    @staticmethod
    def _ensure_campaign(sandbox_url: str, *, fresh: bool, same_sandbox: bool) -> None:
        """The demo campaign as shipped when new (or reset); else as staff left it."""
        if fresh:
            Campaign.objects.filter(slug=DEMO_SLUG).delete()
        exists = Campaign.objects.filter(slug=DEMO_SLUG).exists()
        if not exists or not same_sandbox:
            # New, or an earlier demo's sandbox is gone: (re)point the sources at this one.
            load_campaigns(demo_config(sandbox_url))

    @staticmethod
    def _keep_saving(state_path: Path, server: SandboxServer):
        stopped = threading.Event()

        def save_now_and_then() -> None:
            while not stopped.wait(SAVE_EVERY_SECONDS):
                save_sandbox(state_path, server.sandbox, server.port)

        threading.Thread(target=save_now_and_then, name="demo-save", daemon=True).start()
        return stopped.set

    def _print_urls(self, host: str, port: int, password: str, sandbox_url: str, rate: float):
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS("Fundboard demo is starting. Open:"))
        for widget in WIDGETS:
            self.stdout.write(f"  {base}/c/demo/{widget}")
        self.stdout.write(f"  {base}/c/demo/thermometer?overlay=1   (OBS browser source)")
        self.stdout.write(f"  {base}/c/demo/                        (all widgets and embeds)")
        self.stdout.write(f"  {base}/dashboard/demo/   staff login: {DEMO_USER} / {password}")
        self.stdout.write(f"  {base}/api/v1/campaigns/demo          (JSON snapshot)")
        self.stdout.write(f"Sandbox platforms: {sandbox_url} ({rate} donations/s). Ctrl-C stops.")

    def _ensure_demo_user(self, host: str, *, reset: bool) -> str:
        """The demo login; an existing one keeps its password (and its sessions) unless reset."""
        loopback = host in LOOPBACK_HOSTS
        users = get_user_model()
        user = users.objects.filter(username=DEMO_USER).first()
        if user is not None and not reset and loopback:
            return LOOPBACK_PASSWORD if user.check_password(LOOPBACK_PASSWORD) else "(unchanged)"
        password = LOOPBACK_PASSWORD if loopback else secrets.token_urlsafe(12)
        user = user or users(username=DEMO_USER)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
