"""Sandbox imitation of the imraising API (placeholder: filled in by its owner)."""

from __future__ import annotations

import random


class ImRaisingState:
    def generate(self, rng: random.Random) -> None:
        pass

    async def close_streams(self) -> None:
        pass


def routes(state: ImRaisingState) -> list:
    return []
