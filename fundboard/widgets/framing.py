"""Who may frame a widget page, and what the page itself may load.

Widget pages are made to be embedded (iframes on charity sites, OBS browser sources), so
they opt out of the project-wide X-Frame-Options: DENY and send a Content-Security-Policy
`frame-ancestors` instead: the campaign's allowed origins, or any site when none are set.
The same header keeps scripts to our own files (plus the one inline import map, by its
hash: modules.py), so even a string that slipped past escaping could not run.
"""

from __future__ import annotations

import re

from fundboard.campaigns.models import Campaign

from .modules import import_map_csp_source

__all__ = ["widget_csp", "frame_ancestors"]

# scheme://host[:port], nothing else: a stray `;` or space would change the policy.
ORIGIN = re.compile(r"^https?://[a-zA-Z0-9.-]+(:[0-9]{1,5})?$|^https?://\*\.[a-zA-Z0-9.-]+$")


def frame_ancestors(campaign: Campaign) -> str:
    origins = [o.rstrip("/") for o in campaign.allowed_origin_list]
    valid = [o for o in origins if ORIGIN.match(o)]
    if not origins:
        return "*"
    # Configured but all invalid: only our own pages, never "anyone".
    return " ".join(["'self'", *valid])


def widget_csp(campaign: Campaign, host: str) -> str:
    sockets = f"ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {import_map_csp_source()}",
            # Inline styles carry only validated theme values (see theme.py).
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "media-src 'self' data:",
            f"connect-src 'self' {sockets}",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors(campaign)}",
        ]
    )
