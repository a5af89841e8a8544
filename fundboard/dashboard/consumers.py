"""The staff socket: `/ws/dashboard/<slug>`.

Only signed-in, active staff with the `dashboard.view_dashboard` permission may connect
(anyone else is refused before the handshake completes, HTTP 403), from a browser on our own
pages: the handshake must carry our own Origin (scheme, host and port; see
fundboard/live/origins.py), where the public socket also takes clients without one. It
joins the campaign's dashboard group through the per-process hub: the public messages
(snapshot, donation, donation_removed) plus staff-only ones (`source_health`). Actions go
over HTTP POST, so they keep CSRF protection. The one command the socket takes is the alert
overlays' (alert_controls.py), since the same-origin handshake already stands for CSRF:

    {"type": "alert_control", "action": "skip"|"pause"|"resume"|"clear"|"replay",
     "donation": <id, for replay>}

answered on this socket by {"type": "alert_control_result", "data": {"action", "ok"}}; it
needs `dashboard.moderate_donations`, checked on every command.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async

from fundboard.live.broadcast import dashboard_group
from fundboard.live.consumers import HubConsumer, campaign_id_for_slug

from .access import is_dashboard_user
from .alert_controls import send_alert_control

__all__ = ["DashboardConsumer"]

CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _allowed_campaign_id(user, slug: str) -> int | None:
    if user is None or not is_dashboard_user(user):
        return None
    return campaign_id_for_slug(slug)


class DashboardConsumer(HubConsumer):
    refused_code = CLOSE_FORBIDDEN

    async def allowed_campaign_id(self, slug: str) -> int | None:
        return await _allowed_campaign_id(self.scope.get("user"), slug)

    def group_for(self, campaign_id: int) -> str:
        return dashboard_group(campaign_id)

    async def handle_request(self, request: dict) -> None:
        if request.get("type") != "alert_control":
            return
        action = str(request.get("action", ""))[:20]
        ok = await database_sync_to_async(send_alert_control)(
            self.scope.get("user"), self.campaign_id, action, request.get("donation")
        )
        reply = {"type": "alert_control_result", "data": {"action": action, "ok": ok}}
        if self.outbox is not None:  # None once the feed stopped: the reply has nowhere to go
            self.outbox.put(json.dumps(reply, separators=(",", ":")))
