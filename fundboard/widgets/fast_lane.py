"""The fast lane: public read-path answers straight from memory, in the event loop.

Under ASGI, Django runs every sync middleware and sync view through `sync_to_async`: a
request crossing our middleware list hops between the event loop and a worker thread about
fifteen times (profiled in-process: ~3-4 ms of a trivial request, almost all of it hops and
thread hand-offs). The JSON snapshot and widget pages are public, read-only and, once
cached, need none of that list: no session, user, CSRF token, messages or login lockout.

This middleware sits first. For a GET of the JSON snapshot or a widget page whose answer this
process already holds (live/snapshot_cache.py, widgets/page_cache.py), it answers at once in
the event loop. Everything else, including a cache miss, goes down the normal chain
unchanged, and the view there fills the caches.

The answer is the one the normal chain would give: the request-side checks that matter
(allowed Host, HTTPS redirect, www/slash redirects) run first and send anything unusual down
the normal chain; the response side of SecurityMiddleware (nosniff, Referrer-Policy, COOP,
HSTS when configured), XFrameOptionsMiddleware and CommonMiddleware (Content-Length) is
applied here too. Widget pages keep their own CSP, cached with the page. The other
middleware add nothing to a response that touched no session (tests/test_read_path.py
compares the headers of both lanes).
"""

from __future__ import annotations

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import Resolver404, resolve

from fundboard.live.snapshot_cache import snapshot_cache
from fundboard.live.views import snapshot_response

from .page_cache import page_cache, page_key

__all__ = ["FastLaneMiddleware"]

SNAPSHOT_URL_NAME = "campaign-snapshot"  # live/urls.py
WIDGET_URL_PREFIX = "widget-"  # widgets/urls.py: widget-thermometer, widget-ticker, …
# Only these paths are resolved here (resolving walks every URL pattern: ~0.1 ms).
PATH_PREFIXES = ("/api/v1/campaigns/", "/c/")


def _unused(request):  # the checks below never call on: they only inspect or decorate
    raise AssertionError("not called")


class FastLaneMiddleware:
    # Async only, on purpose: as the first middleware it makes Django's chain async from the
    # top, so a fast answer never leaves the event loop (a sync-capable one would be run in
    # a worker thread like the rest).
    sync_capable = False
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)
        # Their request and response checks are plain functions of the request: called
        # directly, in the order of settings.MIDDLEWARE.
        self.security = SecurityMiddleware(_unused)
        self.common = CommonMiddleware(_unused)
        self.xframe = XFrameOptionsMiddleware(_unused)

    async def __call__(self, request) -> HttpResponseBase:
        response = self._from_memory(request)
        if response is None:
            return await self.get_response(request)
        return self._finish(request, response)

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
        page = page_cache.get(page_key(request), entry.version)
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

    def _finish(self, request, response: HttpResponse) -> HttpResponseBase:
        # Innermost first, as the chain would: each of these returns the response it got.
        response = self.xframe.process_response(request, response)
        self.common.process_response(request, response)  # Content-Length (a 200 or 304)
        return self.security.process_response(request, response)
