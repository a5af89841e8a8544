"""The widget pages' ES modules and the import map that makes them cache-safe.

static/fundboard/live.js is the entry module; it imports its parts (static/fundboard/live/,
alerts.js, match.js) by relative URLs, served as they are (no build step). A page names the
entry with its version (`versioned_static`), but a relative import would resolve to a plain
URL that a browser or CDN may still hold from the last release. So every page carries an
import map whose keys are those plain URLs and whose values are the versioned ones: the
browser looks up each resolved import in it and fetches the version that belongs to this
release (`?v=<hash>` in embedded mode, the hashed name after collectstatic).

The map is inline, so the widget CSP allows exactly it by its SHA-256 (framing.py).
Import maps work in Chromium 89+ (OBS's browser source), Firefox 108+ and Safari 16.4+; an
older browser ignores the map and loads the plain URLs: the page still works, only without
this guarantee across a release.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from django.conf import settings

from .templatetags.versioned_static import versioned_static

__all__ = ["ENTRY", "MODULES", "entry_url", "import_map_json", "import_map_csp_source"]

ENTRY = "fundboard/live.js"
# Every module the entry imports, directly or not (a test checks none is missing).
MODULES = (
    "fundboard/alerts.js",
    "fundboard/match.js",
    "fundboard/live/announce.js",
    "fundboard/live/connection.js",
    "fundboard/live/dom.js",
    "fundboard/live/embed_height.js",
    "fundboard/live/first_snapshot.js",
    "fundboard/live/format.js",
    "fundboard/live/milestones.js",
    "fundboard/live/motion.js",
    "fundboard/live/page.js",
    "fundboard/live/ranked_list.js",
    "fundboard/live/thermometer.js",
    "fundboard/live/ticker.js",
)


def _plain_url(path: str) -> str:
    # What a relative import resolves to: STATIC_URL + the path, never the hashed name.
    return settings.STATIC_URL.rstrip("/") + "/" + path


def _build_import_map() -> str:
    imports = {_plain_url(path): versioned_static(path) for path in MODULES}
    return json.dumps({"imports": imports}, separators=(",", ":"), sort_keys=True)


_cached_import_map = lru_cache(maxsize=1)(_build_import_map)


def import_map_json() -> str:
    """The import map's text, exactly as the page carries it (recomputed in DEBUG)."""
    return _build_import_map() if settings.DEBUG else _cached_import_map()


def import_map_csp_source() -> str:
    """The CSP source that allows the inline import map and nothing else inline."""
    digest = hashlib.sha256(import_map_json().encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def entry_url() -> str:
    return versioned_static(ENTRY)
