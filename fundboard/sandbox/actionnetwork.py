"""Sandbox imitation of the actionnetwork API (placeholder: filled in by its owner)."""

from __future__ import annotations

import random


class ActionNetworkState:
    def generate(self, rng: random.Random) -> None:
        pass

    async def close_streams(self) -> None:
        pass


def routes(state: ActionNetworkState) -> list:
    return []
