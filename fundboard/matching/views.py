"""The match widget (/c/<slug>/match): the campaign's active sponsor match, live.

A widget page like the others (fundboard/widgets/views.py): same URL options, framing
headers and caching, no numbers in the HTML; live.js draws the line (static/fundboard/
match.js) from the JSON snapshot, then keeps it live over the campaign socket.
"""

from __future__ import annotations

from fundboard.widgets.views import widget_page


def match_widget(request, slug: str):
    return widget_page(request, slug, "match")
