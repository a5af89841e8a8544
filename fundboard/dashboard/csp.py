"""A strict Content-Security-Policy on the staff pages: the dashboard and the admin.

Django 5.2 has no CSP of its own, and one fixed policy on two path prefixes is this small
middleware; django-csp would be a dependency for nonces and per-view policies we do not need.
Widget pages are not touched: they are framed by other sites and keep their own rules
(fundboard/widgets/framing.py).

Everything the staff pages run or style comes from our own static files (no inline script,
`style=` or `on…=` in templates/dashboard; Django's admin is written the same way). The
dashboard's live socket is the only connection, to this same host; the embed builder previews
widgets of this site in an iframe.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import DisallowedHost

__all__ = ["StaffPagesCSPMiddleware", "policy_for", "STAFF_PATH_PREFIXES"]

STAFF_PATH_PREFIXES = ("/admin/", "/dashboard/")

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src {connect}; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


def policy_for(request) -> str:
    """The policy, its websocket sources naming this host only (ws: alone would allow any)."""
    try:
        host = request.get_host()  # the Host header, checked against ALLOWED_HOSTS
    except DisallowedHost:  # the 400 answer for a host we do not serve: no socket to allow
        return POLICY.format(connect="'self'")
    return POLICY.format(connect=f"'self' ws://{host} wss://{host}")


class StaffPagesCSPMiddleware:
    async_capable = True
    sync_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._with_policy(request, self.get_response(request))

    async def _acall(self, request):
        return self._with_policy(request, await self.get_response(request))

    @staticmethod
    def _with_policy(request, response):
        if request.path.startswith(STAFF_PATH_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", policy_for(request))
        return response
