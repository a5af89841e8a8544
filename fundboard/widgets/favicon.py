"""/favicon.ico: browsers ask for it on every page without a <link rel=icon> (the admin, JSON)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET

__all__ = ["favicon"]


@require_GET
def favicon(request):
    # A redirect to the static file: its name is hashed in production (collectstatic), and
    # WhiteNoise serves it with long-lived caching; the redirect itself is cached for a day.
    response = HttpResponseRedirect(static("fundboard/favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
