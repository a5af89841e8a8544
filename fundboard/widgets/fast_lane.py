"""The fast lane: public read-path answers straight from memory, in front of Django.

Under ASGI, Django runs every sync middleware and sync view through `sync_to_async`: a
request crossing our middleware list hops between the event loop and worker threads about
fifteen times, and Django's handler itself starts threads for the `request_started` and
`request_finished` signals (bench/profile_read_path.py: ~4 ms of a trivial request on this
loaded machine, almost all of it hops and thread starts). The JSON snapshot and widget pages
are public, read-only and, once cached, need none of that: no session, user, CSRF token,
messages, login lockout or database connection.

`FastLaneApp` wraps Django's ASGI application (fundboard/asgi.py). For a GET of the JSON
snapshot or a widget page whose answer this process already holds (live/snapshot_cache.py,
widgets/page_cache.py), it answers at once in the event loop. Everything else, including a
cache miss, goes to Django unchanged, and the view there fills the caches.

The answer is the one Django would give: the request-side checks that matter (allowed Host,
HTTPS redirect, www/slash redirects) run first and send anything unusual to Django; the
response side of SecurityMiddleware (nosniff, Referrer-Policy, COOP, HSTS when configured),
XFrameOptionsMiddleware and CommonMiddleware (Content-Length) is applied here too. Widget
pages keep their own CSP, cached with the page. The other middleware add nothing to a
response that touched no session (tests/test_read_path.py compares the headers of both).
"""

from __future__ import annotations

import io
import logging

from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve

from fundboard.live.snapshot_cache import snapshot_cache
from fundboard.live.views import snapshot_response

from .page_cache import page_cache

__all__ = ["FastLane", "FastLaneApp"]

SNAPSHOT_URL_NAME = "campaign-snapshot"  # live/urls.py
WIDGET_URL_PREFIX = "widget-"  # widgets/urls.py: widget-thermometer, widget-ticker, …
# Only these paths are resolved here (resolving walks every URL pattern: ~0.1 ms).
PATH_PREFIXES = ("/api/v1/campaigns/", "/c/")

logger = logging.getLogger("fundboard.widgets")


def _unused(request):  # the checks below never call on: they only inspect or decorate
    raise AssertionError("not called")


class FastLane:
    """Decides whether a request can be answered from memory, and answers it."""

    def __init__(self) -> None:
        # Their request and response checks are plain functions of the request: called
        # directly, in the order of settings.MIDDLEWARE.
        self.security = SecurityMiddleware(_unused)
        self.common = CommonMiddleware(_unused)
        self.xframe = XFrameOptionsMiddleware(_unused)

    def answer(self, request) -> HttpResponse | None:
        response = self._from_memory(request)
        return None if response is None else self._finish(request, response)

    def _from_memory(self, request) -> HttpResponse | None:
        # GET only: the views answer HEAD with 405 (require_GET), and so must we.
        if request.method != "GET" or not request.path.startswith(PATH_PREFIXES):
            return None
        if not self._plain_request(request):
            return None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        name = match.url_name or ""
        if name != SNAPSHOT_URL_NAME and not name.startswith(WIDGET_URL_PREFIX):
            return None
        entry = snapshot_cache.fresh(match.kwargs["slug"])
        if entry is None:
            return None  # not cached here yet, or expired: the view reads it
        if name == SNAPSHOT_URL_NAME:
            return snapshot_response(request, entry)
        page = page_cache.answer(request, entry.page_version)
        if page is not None:
            page.xframe_options_exempt = True  # as the view's decorator does
        return page

    def _plain_request(self, request) -> bool:
        """False for anything the normal chain answers differently (a bad Host, a redirect)."""
        try:
            request.get_host()
            redirect = self.security.process_request(request) or self.common.process_request(
                request
            )
        except DisallowedHost:
            return False
        return redirect is None

    def _finish(self, request, response: HttpResponse) -> HttpResponse:
        # Innermost first, as the chain would: each of these returns the response it got.
        self.xframe.process_response(request, response)
        self.common.process_response(request, response)  # Content-Length (a 200 or 304)
        self.security.process_response(request, response)
        return response


class FastLaneApp:
    """ASGI: cached read-path answers here, everything else to `django_app`."""

    def __init__(self, django_app) -> None:
        self.django_app = django_app
        self.lane = FastLane()

    async def __call__(self, scope, receive, send) -> None:
        response = self._answer(scope) if _may_be_cached(scope) else None
        if response is None:
            await self.django_app(scope, receive, send)
            return
        headers = [
            (name.encode("ascii"), value.encode("latin1")) for name, value in response.items()
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.content})

    def _answer(self, scope) -> HttpResponse | None:
        try:  # a GET has no body to read: the request is its scope
            return self.lane.answer(ASGIRequest(scope, io.BytesIO()))
        except Exception:  # whatever went wrong here, Django answers it the usual way
            logger.exception("fast lane failed; answered by Django")
            return None


def _may_be_cached(scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and scope["path"].startswith(PATH_PREFIXES)
    )
