"""The public JSON snapshot: the same text the sockets get, from this process's memory.

Served from `snapshot_cache` (no database query once a campaign is cached) with the
campaign version as its ETag, so a client polling with `If-None-Match` gets a bodyless 304
until something changed, and a CDN or nginx's micro-cache may keep it for a second.
"""

from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET

from .consumers import campaign_id_for_slug
from .snapshot_cache import CachedSnapshot, snapshot_cache

# One second fresh; for the minute after, a cache may answer with the stale copy while it
# fetches the next one (a crowd never waits on the origin together).
CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=60"


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison: `W/"v5"` matches `"v5"`; `*` matches anything."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _with_cache_headers(response: HttpResponse, entry: CachedSnapshot) -> HttpResponse:
    response["ETag"] = entry.etag
    response["Cache-Control"] = CACHE_CONTROL
    # Public and read-only: any site may read it (widgets' polling fallback, custom pages).
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag"
    return response


def snapshot_response(request, entry: CachedSnapshot) -> HttpResponse:
    """The answer for a cached snapshot: 304 if the client has this version, else the body.
    No database work: the fast lane (widgets/fast_lane.py) calls it from the event loop."""
    if _matches(request.headers.get("If-None-Match", ""), entry.etag):
        return _with_cache_headers(HttpResponseNotModified(), entry)
    response = HttpResponse(entry.body, content_type="application/json")
    return _with_cache_headers(response, entry)


@require_GET
def campaign_snapshot(request, slug: str) -> HttpResponse:
    entry = snapshot_cache.get(slug, campaign_id_for_slug)
    if entry is None:
        raise Http404("No such campaign")
    return snapshot_response(request, entry)


__all__ = ["campaign_snapshot", "snapshot_response", "CACHE_CONTROL"]
