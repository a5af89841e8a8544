"""One INFO line every few seconds about what was ingested, instead of one per donation.

At a marathon's rate (or the demo's 1.5 donations a second) a line per donation scrolls
everything else off the screen; those lines are at DEBUG now, and this summary says how many
donations came in, from how many sources, since the last summary. No thread or timer: the
summary is written by the ingest that finds the period over, so a quiet campaign logs nothing.
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["IngestSummary", "ingest_summary"]

SUMMARY_SECONDS = 10.0


class IngestSummary:
    def __init__(
        self, logger: logging.Logger, every: float = SUMMARY_SECONDS, clock=time.monotonic
    ):
        self.logger, self.every, self.clock = logger, every, clock
        self._lock = threading.Lock()
        self._started = clock()
        self._count = 0
        self._sources: set[int] = set()

    def add(self, source_id: int, count: int) -> None:
        """Count `count` new donations of a source; log the summary once the period is over."""
        with self._lock:
            self._count += count
            self._sources.add(source_id)
            now = self.clock()
            elapsed = now - self._started
            if elapsed < self.every:
                return
            count, sources = self._count, len(self._sources)
            self._started, self._count, self._sources = now, 0, set()
        self.logger.info(
            "ingested %s donation%s (%s source%s) in the last %.0f s",
            count,
            "" if count == 1 else "s",
            sources,
            "" if sources == 1 else "s",
            elapsed,
        )


ingest_summary = IngestSummary(logging.getLogger("fundboard.ingest"))
