"""The public campaign socket: `/ws/campaigns/<slug>`.

First message: the snapshot. Then `snapshot` after changes, `donation` per new donation and
`donation_removed` per removal, all as the hub hands them over. A client may send
`{"type": "resync"}` to get the current snapshot again.
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from fundboard.campaigns.models import Campaign
from fundboard.ops import metrics

from .broadcast import campaign_group
from .hub import Outbox, get_hub
from .snapshot import read_snapshot_text

__all__ = ["CampaignConsumer"]

log = logging.getLogger("fundboard.live")

# Close codes in the 4000s are for applications; 4404 mirrors "not found".
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _campaign_id(slug: str) -> int | None:
    return Campaign.objects.filter(slug=slug).values_list("pk", flat=True).first()


class CampaignConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    outbox: Outbox | None = None
    writer: asyncio.Task | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        campaign_id = await _campaign_id(slug)
        if campaign_id is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.campaign_id = campaign_id
        await self.accept()
        metrics.OPEN_WEBSOCKETS.inc()
        self.outbox = Outbox()
        self.group = campaign_group(campaign_id)
        self.writer = asyncio.create_task(self._write())
        await get_hub().join(self.group, self.outbox, snapshot_of=campaign_id)

    async def _write(self) -> None:
        # Straight to the ASGI send: this runs once per socket per broadcast.
        send = self.base_send
        while (text := await self.outbox.get()) is not None:
            await send({"type": "websocket.send", "text": text})

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
            metrics.OPEN_WEBSOCKETS.dec()
            await get_hub().leave(self.group, self.outbox)
        if self.writer:
            self.writer.cancel()
