"""`manage.py demo`: the sandbox platforms, a demo campaign fed by all three, and `serve`.

Everything runs in this one process on the embedded defaults (SQLite, in-memory channel
layer): the sandbox on its own loopback port, the stream runner and pollers inside the
server. Nothing outside this machine is contacted.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from fundboard.campaigns.loader import load_campaigns
from fundboard.sandbox import actionnetwork, imraising, p2p
from fundboard.sandbox.app import Sandbox
from fundboard.sandbox.server import SandboxServer

DEMO_USER = "demo"
# A known password only while the demo listens on loopback; anywhere else a random one.
LOOPBACK_PASSWORD = "demo-password"  # noqa: S105
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
WIDGETS = ["thermometer", "leaderboard", "top-donors", "ticker", "alerts"]


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


class Command(BaseCommand):
    help = "Run the live demo: sandbox platforms + a demo campaign + the server."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=0, help="default: any free port")
        parser.add_argument("--rate", type=float, default=1.5, help="donations per second")

    def handle(self, *args, host, port, sandbox_port, rate, **options):
        call_command("migrate", verbosity=0)
        sandbox = SandboxServer(Sandbox(rate=rate), port=sandbox_port).start()
        load_campaigns(demo_config(sandbox.url))
        password = self._ensure_demo_user(host)
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS("Fundboard demo is starting. Open:"))
        for widget in WIDGETS:
            self.stdout.write(f"  {base}/c/demo/{widget}")
        self.stdout.write(f"  {base}/c/demo/thermometer?overlay=1   (OBS browser source)")
        self.stdout.write(f"  {base}/c/demo/                        (all widgets and embeds)")
        self.stdout.write(f"  {base}/dashboard/demo/   staff login: {DEMO_USER} / {password}")
        self.stdout.write(f"  {base}/api/v1/campaigns/demo          (JSON snapshot)")
        self.stdout.write(f"Sandbox platforms: {sandbox.url} ({rate} donations/s). Ctrl-C stops.")
        try:
            call_command("serve", host=host, port=port, ingest=True)
        finally:
            sandbox.stop()

    def _ensure_demo_user(self, host: str) -> str:
        password = LOOPBACK_PASSWORD if host in LOOPBACK_HOSTS else secrets.token_urlsafe(12)
        users = get_user_model()
        user = users.objects.filter(username=DEMO_USER).first() or users(username=DEMO_USER)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
