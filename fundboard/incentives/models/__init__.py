"""Incentives, their options, the allocations of donations to them, the moderation queue,
the audit trail and the run schedule.

`fundboard.incentives.services` is the only writer of allocations, reviews and audit rows.
"""

from .allocation import Allocation, AllocationAudit, Review, ReviewState
from .incentive import Incentive, IncentiveKind, IncentiveState, Option
from .schedule import Run

__all__ = [
    "Allocation",
    "AllocationAudit",
    "Incentive",
    "IncentiveKind",
    "IncentiveState",
    "Option",
    "Review",
    "ReviewState",
    "Run",
]
