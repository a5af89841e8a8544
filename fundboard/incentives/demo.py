"""The demo campaign's marathon: a schedule and incentives whose tags the sandbox's
generated donations use (fundboard/sandbox/imraising.py MESSAGES: some exact, some
ambiguous, some misspelt), so `./dev demo` shows allocation, the queue and the widgets."""

from __future__ import annotations


def demo_marathon() -> dict:
    """The `run` and `incentive` keys of the demo campaign (same shape as the TOML)."""
    return {
        "run": [
            {"title": "Zelda: Ocarina of Time any%", "minutes": 90},
            {"title": "Super Mario 64 120 star", "minutes": 120},
            {"title": "Celeste any%", "minutes": 45},
        ],
        "incentive": [
            {"key": "blindfold", "kind": "goal", "title": "Final boss blindfolded",
             "goal": "500", "tags": ["blindfold", "bf"]},
            {"key": "hero", "kind": "bidwar", "title": "Name the hero", "winners": 1,
             "option": [{"title": "Link", "tags": ["link"]},
                        {"title": "Zelda", "tags": ["zelda"]},
                        {"title": "Navi", "tags": ["navi"]}]},
            {"key": "bonus", "kind": "stretch", "title": "Bonus games", "tags": ["bonus"],
             "option": [{"title": "Tetris 99", "goal": "300"},
                        {"title": "Pogo speedrun", "goal": "800"}]},
            {"key": "celeste", "kind": "goal", "title": "Celeste with no dashes",
             "goal": "200", "tags": ["nodash"], "run": "Celeste any%"},
        ],
    }  # fmt: skip
