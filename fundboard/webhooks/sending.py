"""One HTTP attempt: POST a delivery's signed body and say how it went (never raises).

No redirects are followed, the reply is read up to a bound and a deadline, and what is
kept of an error holds neither the endpoint's secret nor its full URL.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from dataclasses import dataclass

import certifi
import httpx

from fundboard.ops.logging import redact
from fundboard.providers.cleaning import upstream_text
from fundboard.providers.http import USER_AGENT

from .addresses import host_allowed, shown_url
from .models import WebhookDelivery, WebhookEndpoint
from .policy import DeliveryPolicy
from .signing import SIGNATURE_HEADER, signature_header

__all__ = ["AttemptResult", "http_client", "send"]

log = logging.getLogger("fundboard.webhooks")


@dataclass
class AttemptResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def http_client(policy: DeliveryPolicy) -> httpx.Client:
    # No redirects: the signed body goes to the address staff configured, nowhere else.
    return httpx.Client(
        timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        verify=_tls_context(),
    )


def send(client: httpx.Client, delivery: WebhookDelivery, policy: DeliveryPolicy) -> AttemptResult:
    """POST the delivery's body, signed now; the outcome (never raises)."""
    endpoint = delivery.endpoint
    if not host_allowed(endpoint.url):
        return AttemptResult(False, error="host not in FUNDBOARD_WEBHOOK_HOSTS")
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        # Signed with the wall clock, whatever drives the schedule: receivers compare it
        # with theirs (the replay window).
        SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
        "Fundboard-Delivery": str(delivery.event_id),
        "Fundboard-Event": delivery.event,
    }
    deadline = time.monotonic() + policy.timeout
    try:
        with client.stream("POST", endpoint.url, content=body, headers=headers) as response:
            excerpt = _read_bounded(response, policy.reply_max_bytes, deadline)
    except httpx.TimeoutException:
        return AttemptResult(False, error="timed out")
    except httpx.HTTPError as error:
        return AttemptResult(False, error=_error_text(error, endpoint))
    except Exception as error:  # an address httpx refuses, say: a failure, retried later
        log.warning("webhook could not be sent endpoint=%s error=%r", endpoint.pk, type(error))
        return AttemptResult(False, error=f"could not send: {type(error).__name__}")
    if 200 <= response.status_code < 300:
        return AttemptResult(True, response.status_code)
    reason = f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        reason += " (redirects are not followed)"
    elif excerpt:
        reason += f": {excerpt}"
    return AttemptResult(False, response.status_code, _error_text(reason, endpoint))


def _read_bounded(response: httpx.Response, limit: int, deadline: float) -> str:
    """At most `limit` bytes of the reply, read until the deadline; as one line of text."""
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit or time.monotonic() > deadline:
            break
    return data[:limit].decode("utf-8", "replace")


def _error_text(error, endpoint: WebhookEndpoint) -> str:
    """Why an attempt failed, for staff and logs: without the secret or the full URL."""
    text = str(error) or type(error).__name__
    text = redact(text, endpoint.secret).replace(endpoint.url, shown_url(endpoint.url))
    return upstream_text(text, 200)
