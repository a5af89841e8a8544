"""The staff socket: `/ws/dashboard/<slug>`.

Only signed-in, active staff with the `dashboard.view_dashboard` permission may connect
(anyone else is refused before the handshake completes, HTTP 403). It joins the campaign's
dashboard group through the per-process hub: the public messages (snapshot, donation,
donation_removed) plus staff-only ones (`source_health`). Actions go over HTTP POST, so
they keep CSRF protection; the socket only listens.
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from fundboard.campaigns.models import Campaign
from fundboard.live.broadcast import dashboard_group
from fundboard.live.hub import Outbox, get_hub
from fundboard.live.snapshot import read_snapshot_text

from .access import is_dashboard_user

__all__ = ["DashboardConsumer"]

log = logging.getLogger("fundboard.dashboard")

CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _allowed_campaign_id(user, slug: str) -> int | None:
    if user is None or not is_dashboard_user(user):
        return None
    return Campaign.objects.filter(slug=slug).values_list("pk", flat=True).first()


class DashboardConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    outbox: Outbox | None = None
    writer: asyncio.Task | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        campaign_id = await _allowed_campaign_id(self.scope.get("user"), slug)
        if campaign_id is None:
            log.info("staff socket refused campaign=%s", slug)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.campaign_id = campaign_id
        await self.accept()
        self.outbox = Outbox()
        self.group = dashboard_group(campaign_id)
        self.writer = asyncio.create_task(self._write())
        await get_hub().join(self.group, self.outbox, snapshot_of=campaign_id)

    async def _write(self) -> None:
        while (text := await self.outbox.get()) is not None:
            await self.send(text_data=text)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            request = json.loads(text_data or "{}")
        except ValueError:
            return
        if isinstance(request, dict) and request.get("type") == "resync":
            text, _ = await database_sync_to_async(read_snapshot_text)(self.campaign_id)
            if text:
                self.outbox.put(text)

    async def disconnect(self, code) -> None:
        if self.group and self.outbox:
            await get_hub().leave(self.group, self.outbox)
        if self.writer:
            self.writer.cancel()
