"""Login throttling (django-axes) for the one login page staff use: /admin/login/.

The dashboard has no login view of its own (LOGIN_URL is the admin's), so throttling the
admin login covers both. django-axes counts failed attempts per username and client address
in the database (shared by every web process) and locks that pair out for a while; the
settings are in fundboard/settings.py (AXES_*), the limits come from the environment.
"""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend
from django.conf import settings

__all__ = ["WebLoginThrottleBackend", "client_ip"]


class WebLoginThrottleBackend(AxesStandaloneBackend):
    """axes' lockout check, for logins that come with a request (every web login does).

    An authenticate() without a request (a shell, Django's test client `login()`) is not a
    login attempt from any address: axes would raise there; it is let through to the
    password check instead, uncounted.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str | None:
    """The address a login attempt came from, as axes counts it.

    Behind our proxy (FUNDBOARD_BEHIND_PROXY), the peer is nginx and the client is the last
    X-Forwarded-For entry: the one nginx appended ($proxy_add_x_forwarded_for). Entries left
    of it came from the client and could be anything, so they are never trusted. Without the
    proxy setting the header is ignored: anyone could send one to dodge the lockout.
    Not an IP address (a forged header, a request made in code): None, as axes expects.
    """
    if settings.FUNDBOARD_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries and _is_ip(entries[-1]):
            return entries[-1]
    address = request.META.get("REMOTE_ADDR", "")
    return address if _is_ip(address) else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
