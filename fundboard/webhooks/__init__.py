"""Signed outbound webhooks: per-campaign endpoints told about donations and milestones.

The flow: ingest's after-commit signals (receivers.py) write one WebhookDelivery row per
subscribed endpoint and event (outbox.py), and the delivery function (delivery.py) sends
them, oldest first per endpoint, signed (signing.py), retried with backoff; it runs as
Celery tasks (tasks.py) in the distributed mode and as a loop inside `serve` (runner.py) in
the embedded mode. docs/webhooks.md is the operator's and receiver's guide.
"""
