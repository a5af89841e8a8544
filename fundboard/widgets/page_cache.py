"""Rendered widget pages in this process's memory, while their campaign's version holds.

A widget page depends on the campaign's settings and the URL (options, language, Host for
the CSP), never on its numbers. Settings changes bump the campaign's version (like every
change viewers see), and the in-memory snapshot cache (live/snapshot_cache.py) knows the
current version without a query: a page rendered at version v is reused until the version
moves. Donations move it too, so a busy campaign re-renders its pages a few times a
second at most; an idle one serves them with no query and no template work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.http import HttpResponse

__all__ = ["PageCache", "page_cache", "page_key"]

MAX_PAGES = 512  # URLs differ by options: bounded so a crawler varying them cannot grow it


def page_key(request) -> tuple[str, str]:
    """A page is cached per Host (its CSP names it) and full URL (options, language)."""
    return (request.get_host(), request.get_full_path())


@dataclass(frozen=True, slots=True)
class _Page:
    version: int
    status: int
    content: bytes
    headers: tuple[tuple[str, str], ...]


class PageCache:
    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[str, str], _Page] = OrderedDict()

    def get(self, key: tuple[str, str], version: int) -> HttpResponse | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None or page.version != version:
                return None
            self._pages.move_to_end(key)
        response = HttpResponse(page.content, status=page.status)
        for name, value in page.headers:
            response[name] = value
        return response

    def put(self, key: tuple[str, str], version: int, response: HttpResponse) -> None:
        if response.status_code != 200 or response.has_header("Set-Cookie"):
            return
        page = _Page(version, response.status_code, response.content, tuple(response.items()))
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


page_cache = PageCache()
