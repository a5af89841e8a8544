"""Rendered widget pages in this process's memory, while their campaign's page version holds.

A widget page depends on a few campaign settings and on the URL (options, language, Host for
the CSP), never on its numbers. The snapshot cache (live/snapshot_cache.py) carries, beside
the campaign version, the *page version*: a hash of exactly those settings
(live/page_version.py). A page is kept per (Host, full URL) with the page version it was
rendered at, and reused until that moves: donations never re-render a page, a new title or
allowed origin does at once (the next snapshot carries the new page version).

Each kept page has an ETag made of the page version and a digest of what was sent, so a
browser or CDN revalidating after `max-age` gets a bodyless 304 however many donations came
in, and a new deploy (other static URLs, the same settings) still gets the new page.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.cache import get_conditional_response

__all__ = ["PageCache", "page_cache", "page_key"]

MAX_PAGES = 512  # URLs differ by options: bounded so a crawler varying them cannot grow it


def page_key(request) -> tuple[str, str]:
    """A page is cached per Host (its CSP names it) and full URL (options, language)."""
    return (request.get_host(), request.get_full_path())


def page_etag(page_version: str, response: HttpResponse) -> str:
    """The page version, plus a digest of the body and CSP: equal pages from any process
    share a tag, and a deploy that changes the HTML (not the settings) changes it."""
    digest = hashlib.sha256(response.content)
    digest.update(response.get("Content-Security-Policy", "").encode())
    return f'"{page_version}-{digest.hexdigest()[:12]}"'


@dataclass(frozen=True, slots=True)
class _Page:
    page_version: str
    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...]


class PageCache:
    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[str, str], _Page] = OrderedDict()
        # How often a page was answered from here, and rendered and kept (tests, profiling).
        self.hits = 0
        self.renders = 0

    def answer(self, request, page_version: str) -> HttpResponse | None:
        """The kept page for this request (a 304 if the client has it), or None."""
        key = page_key(request)
        with self._lock:
            page = self._pages.get(key)
            if page is None or page.page_version != page_version:
                return None
            self._pages.move_to_end(key)
            self.hits += 1
        response = HttpResponse(page.content, status=page.status)
        for name, value in page.headers:
            response[name] = value
        return _conditional(request, response)

    def keep(self, request, page_version: str, response: HttpResponse) -> HttpResponse:
        """Keep a page just rendered at `page_version`; what to send (maybe a 304)."""
        if response.status_code != 200 or response.has_header("Set-Cookie"):
            return response
        response["ETag"] = page_etag(page_version, response)
        page = _Page(page_version, response.status_code, response.content, tuple(response.items()))
        key = page_key(request)
        with self._lock:
            self.renders += 1
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        return _conditional(request, response)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.hits = self.renders = 0


def _conditional(request, response: HttpResponse) -> HttpResponse:
    # Django's own If-None-Match handling (what ConditionalGetMiddleware uses): weak
    # comparison, `*`, and a 304 that keeps Cache-Control and the ETag.
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    return conditional or response  # (None only when no response is given)


page_cache = PageCache()
