"""Campaign sockets. `HubConsumer` is the shared machinery; `CampaignConsumer` the public one.

The public socket is `/ws/campaigns/<slug>`. First message: the snapshot. Then `snapshot`
after changes, `donation` per new donation and `donation_removed` per removal, all as the hub
hands them over. A client may send `{"type": "resync"}` to get the current snapshot again.

`?events=0` on the URL asks for snapshots only: no `donation` / `donation_removed` events.
The thermometer, leaderboard, top-donors and ticker widgets draw from snapshots alone and
connect that way, so a burst of donations costs their viewers a few frames a second, not one
per donation (the alerts widget needs the events and takes the default).
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from fundboard.campaigns.models import Campaign
from fundboard.ops import metrics

from .broadcast import campaign_group
from .direct import DirectWriter
from .hub import Outbox, get_hub
from .snapshot import read_snapshot_text

__all__ = ["HubConsumer", "CampaignConsumer", "campaign_id_for_slug"]

log = logging.getLogger("fundboard.live")

# Close codes in the 4000s are for applications; 4404 mirrors "not found".
CLOSE_NOT_FOUND = 4404


def campaign_id_for_slug(slug: str) -> int | None:
    return Campaign.objects.filter(slug=slug).values_list("pk", flat=True).first()


class HubConsumer(AsyncWebsocketConsumer):
    """A socket fed by the process's hub: joins one group, writes what its outbox holds.

    Subclasses say which campaign the socket may follow (`allowed_campaign_id`) and which
    group feeds it (`group_for`).
    """

    refused_code = CLOSE_NOT_FOUND
    group: str | None = None
    outbox: Outbox | None = None
    writer: asyncio.Task | None = None

    async def allowed_campaign_id(self, slug: str) -> int | None:
        raise NotImplementedError

    def group_for(self, campaign_id: int) -> str:
        raise NotImplementedError

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        campaign_id = await self.allowed_campaign_id(slug)
        if campaign_id is None:
            log.info("socket refused path=%s", self.scope.get("path", ""))
            await self.close(code=self.refused_code)
            return
        self.campaign_id = campaign_id
        await self.accept()
        metrics.OPEN_WEBSOCKETS.inc()
        self.outbox = Outbox(
            events=self.wants_events(), direct=DirectWriter.for_send(self.base_send)
        )
        self.group = self.group_for(campaign_id)
        self.writer = asyncio.create_task(self._write())
        await get_hub().join(self.group, self.outbox, snapshot_of=campaign_id)

    def wants_events(self) -> bool:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return query.get("events", ["1"])[-1] not in ("0", "false", "no")

    async def _write(self) -> None:
        # Straight to the ASGI send: this runs once per socket per broadcast.
        send, outbox = self.base_send, self.outbox
        while (text := await outbox.get()) is not None:
            outbox.sending = True  # the hub must not write past this message
            try:
                await send({"type": "websocket.send", "text": text})
            finally:
                outbox.sending = False

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


class CampaignConsumer(HubConsumer):
    """The public socket: anyone may follow any campaign that exists."""

    async def allowed_campaign_id(self, slug: str) -> int | None:
        return await database_sync_to_async(campaign_id_for_slug)(slug)

    def group_for(self, campaign_id: int) -> str:
        return campaign_group(campaign_id)
