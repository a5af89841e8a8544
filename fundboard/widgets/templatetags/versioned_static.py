"""`{% versioned_static "path" %}`: a static URL that changes whenever the file does.

Widget pages are cached for a minute (and stale for longer), so the scripts and styles they
name must not be: a new release has to reach a cached page at once. In production
(collectstatic, WhiteNoise's manifest) `static` already puts the file's hash in its name. In
embedded mode files are served straight from the app folders under their plain names, so
the URL gets `?v=<hash of the file>` instead (computed once per process and file).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static

register = template.Library()


@lru_cache(maxsize=64)
def _file_hash(path: str) -> str:
    found = finders.find(path)
    if not found:
        return ""
    with open(found, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


@register.simple_tag
def versioned_static(path: str) -> str:
    url = static(path)
    if "staticfiles" in settings.STORAGES and "Manifest" in settings.STORAGES["staticfiles"].get(
        "BACKEND", ""
    ):
        return url  # the hash is in the name already
    digest = _file_hash(path) if not settings.DEBUG else _file_hash.__wrapped__(path)
    return f"{url}?v={digest}" if digest else url


@register.inclusion_tag("widgets/_live_script.html")
def live_modules() -> dict:
    """The import map and the entry module of the widget scripts (fundboard/widgets/modules.py)."""
    from fundboard.widgets.modules import entry_url, import_map_json

    return {"import_map": import_map_json(), "entry_url": entry_url()}
