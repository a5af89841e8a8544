"""Sandbox imitation of the p2p API (placeholder: filled in by its owner)."""

from __future__ import annotations

import random


class P2PState:
    def generate(self, rng: random.Random) -> None:
        pass

    async def close_streams(self) -> None:
        pass


def routes(state: P2PState) -> list:
    return []
