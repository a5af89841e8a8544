"""The Django admin, part of the staff tooling: every model's admin is registered here.

Kept in the dashboard app (not beside each model) because its actions record who did what
through `fundboard.dashboard.actions`, and the data flow only goes from left to right:
campaigns and ingest know nothing of the dashboard.
"""

from . import campaigns, donations, incentives, money, staff_actions, webhooks

__all__ = ["campaigns", "donations", "incentives", "money", "staff_actions", "webhooks"]
