"""What the test settings change stays out of production's (tests/settings.py)."""

from __future__ import annotations

import subprocess
import sys

from .support import REPO


def test_production_hashes_passwords_with_djangos_default_pbkdf2():
    code = (
        "import django; django.setup();"
        "from django.contrib.auth.hashers import get_hasher; print(get_hasher().algorithm)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "fundboard.settings", "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "pbkdf2_sha256"
