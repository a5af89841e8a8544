"""Campaign sockets. `HubConsumer` is the shared machinery; `CampaignConsumer` the public one.

The public socket is `/ws/campaigns/<slug>`. First message: the snapshot. Then `snapshot`
after changes, `donation` per new donation and `donation_removed` per removal, all as the hub
hands them over. A client may send `{"type": "resync"}` to get the current snapshot again.

`?events=0` on the URL asks for snapshots only: no `donation` / `donation_removed` events.
The thermometer, leaderboard, top-donors and ticker widgets draw from snapshots alone and
connect that way, so a burst of donations costs their viewers a few frames a second, not one
per donation (the alerts widget needs the events and takes the default).

What a client may cost is bounded (limits.py): its messages in size, rate and JSON depth
(a flooding client is closed with 1008), its unsent outbound bytes (stalls.py cuts a viewer
that stopped reading), and who may connect at all by `Origin` (origins.py).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from fundboard.campaigns.models import Campaign
from fundboard.ops import metrics
from fundboard.providers import bounded_json

from . import limits
from .broadcast import campaign_group
from .direct import DirectWriter, direct_frames_enabled
from .hub import Outbox, get_hub
from .origins import origin_allowed
from .stalls import get_sweep

__all__ = ["HubConsumer", "CampaignConsumer", "campaign_id_for_slug"]

log = logging.getLogger("fundboard.live")

# Close codes in the 4000s are for applications; 4404 mirrors "not found".
CLOSE_NOT_FOUND = 4404


def campaign_id_for_slug(slug: str) -> int | None:
    return Campaign.objects.filter(slug=slug).values_list("pk", flat=True).first()


def allowed_origins_for_slug(slug: str) -> list[str]:
    campaign = Campaign.objects.filter(slug=slug).only("allowed_origins").first()
    return campaign.allowed_origin_list if campaign else []


class HubConsumer(AsyncWebsocketConsumer):
    """A socket fed by the process's hub: joins one group, writes what its outbox holds.

    Subclasses say which campaign the socket may follow (`allowed_campaign_id`) and which
    group feeds it (`group_for`).
    """

    refused_code = CLOSE_NOT_FOUND
    group: str | None = None
    outbox: Outbox | None = None
    writer: asyncio.Task | None = None
    connection: DirectWriter | None = None
    closing = False  # this side closed the socket: whatever the client still sends is dropped
    told_off = False  # a bad message was logged once already

    async def allowed_campaign_id(self, slug: str) -> int | None:
        raise NotImplementedError

    async def origin_allowed(self, slug: str) -> bool:
        """Strict by default: a browser on our own pages (origins.py)."""
        return origin_allowed(self.scope, allow_missing=False)

    def group_for(self, campaign_id: int) -> str:
        raise NotImplementedError

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        path = self.scope.get("path", "")
        if not await self.origin_allowed(slug):
            # Closed before the handshake completes: the client gets HTTP 403.
            log.info("socket refused: origin path=%s origin=%.100s", path, self._origin())
            await self.close()
            return
        campaign_id = await self.allowed_campaign_id(slug)
        if campaign_id is None:
            log.info("socket refused path=%s", path)
            await self.close(code=self.refused_code)
            return
        self.campaign_id = campaign_id
        self.requests = limits.TokenBucket()
        await self.accept()
        metrics.OPEN_WEBSOCKETS.inc()
        self.connection = DirectWriter.for_send(self.base_send)
        if self.connection is not None:
            get_sweep().watch(self.connection, path)
        # With DIRECT_FRAMES off every frame goes through `send` (the Channels path); the
        # connection handle still bounds what a viewer that stopped reading costs.
        direct = self.connection if direct_frames_enabled() else None
        self.outbox = Outbox(events=self.wants_events(), direct=direct)
        self.group = self.group_for(campaign_id)
        self.writer = asyncio.create_task(self._write())
        await get_hub().join(self.group, self.outbox, snapshot_of=campaign_id)

    def _origin(self) -> str:
        headers = dict(self.scope.get("headers", ()))
        return headers.get(b"origin", b"(none)").decode("latin-1")

    def wants_events(self) -> bool:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return query.get("events", ["1"])[-1] not in ("0", "false", "no")

    async def _write(self) -> None:
        # Straight to the ASGI send: this runs once per socket per broadcast.
        send, outbox, connection = self.base_send, self.outbox, self.connection
        assert outbox is not None  # made in connect(), before this task
        while (text := await outbox.get()) is not None:
            outbox.sending = True  # the hub must not write past this message
            try:
                await send({"type": "websocket.send", "text": text})
            finally:
                outbox.sending = False
            if connection is not None:
                connection.written(len(text))  # a client too far behind is cut (limits.py)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The only request is `{"type": "resync"}`. Each message costs O(1) before it is
        looked at; the servers already refused any above limits.MAX_MESSAGE_BYTES."""
        if self.closing or self.outbox is None:
            return
        if not self.requests.take():
            log.info("socket closed: too many messages path=%s", self.scope.get("path", ""))
            await self._close_for_policy()
            return
        # uvicorn refuses a bigger message itself; daphne only bounds each frame, as its
        # whole-message limit also applies to what we send (serve.py).
        if len(text_data or bytes_data or "") > limits.MAX_MESSAGE_BYTES:
            log.info("socket closed: message too big path=%s", self.scope.get("path", ""))
            await self._close_for_policy(limits.CLOSE_MESSAGE_TOO_BIG)
            return
        try:
            request = bounded_json.loads(text_data or "", max_bytes=limits.MAX_MESSAGE_BYTES)
        except bounded_json.JSONRejected as rejected:
            if not self.told_off:  # one short line per socket, never a traceback
                self.told_off = True
                log.info("socket message ignored: %s", str(rejected)[:80])
            return
        if isinstance(request, dict) and request.get("type") == "resync":
            # The hub's latest snapshot (no database read): a resync costs a client nothing
            # more than a queued message, and the rate above bounds how many it asks for.
            if self.group is None:
                return  # the feed was stopped: nothing more is sent
            snapshot = await get_hub().latest_snapshot(self.group, self.campaign_id)
            if snapshot is not None:
                self.outbox.put(snapshot)
        elif isinstance(request, dict):
            await self.handle_request(request)

    async def handle_request(self, request: dict) -> None:
        """Any other request: ignored here; the staff socket takes commands (dashboard)."""

    async def _close_for_policy(self, code: int = limits.CLOSE_POLICY_VIOLATION) -> None:
        self.closing = True
        connection = self.connection
        await self._stop_feed()  # nothing more is sent after the close frame
        await self.close(code=code)
        # A flooding client neither reads our close frame nor answers it, and the server
        # would go on reading (and dropping) what it sends until a ping times out: the
        # connection is dropped after a moment, as autobahn does on daphne.
        if connection is not None:
            asyncio.get_running_loop().call_later(limits.CLOSE_GRACE_SECONDS, connection.abort)

    async def disconnect(self, code) -> None:
        await self._stop_feed()

    async def _stop_feed(self) -> None:
        if self.connection is not None:
            get_sweep().forget(self.connection)
        if self.group and self.outbox:
            group, self.group = self.group, None
            metrics.OPEN_WEBSOCKETS.dec()
            await get_hub().leave(group, self.outbox)
        if self.writer:
            self.writer.cancel()


class CampaignConsumer(HubConsumer):
    """The public socket: anyone may follow any campaign that exists."""

    async def allowed_campaign_id(self, slug: str) -> int | None:
        return await database_sync_to_async(campaign_id_for_slug)(slug)

    async def origin_allowed(self, slug: str) -> bool:
        """Clients without an Origin are welcome here (read-only public data); a browser
        page from another site only if the campaign lists it among its allowed origins."""
        if origin_allowed(self.scope, allow_missing=True):
            return True
        extra = await database_sync_to_async(allowed_origins_for_slug)(slug)
        return bool(extra) and origin_allowed(self.scope, allow_missing=True, extra=extra)

    def group_for(self, campaign_id: int) -> str:
        return campaign_group(campaign_id)
