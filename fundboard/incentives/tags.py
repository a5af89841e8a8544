"""Reading a donation's raw message for incentive tags ("#zelda").

Exactly one known tag of one incentive (or one bid-war option), and nothing else that looks
like another one, allocates the donation at once. Everything doubtful goes to the moderation
queue, never guessed: several targets, a close misspelling (#zleda), a tag or an option's
title written without '#', "half to X, half to Y".

Misspellings are found with a deletion index ("symmetric delete"): every tag is stored with
all its variants of up to two deleted letters, and a word matches a tag when one of its own
deletion variants is among them (then checked with a real edit distance). That is a few dict
lookups per word, whatever the number of tags, which keeps ingest fast with 500 options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations

__all__ = ["Target", "TagIndex", "Reading", "read_message", "edit_distance"]

HASHTAG = re.compile(r"#([^\W_][\w-]*)")
WORD = re.compile(r"(?<![#\w])([^\W\d_][\w'-]*)")
# Tags at least this long count a misspelling (shorter ones are too easy to hit by chance).
FUZZY_MIN_LENGTH = 4
HASHTAG_MAX_DISTANCE = 2
# A bare word is an ordinary word far more often: only one letter off, and a longer word.
WORD_MAX_DISTANCE = 1
WORD_FUZZY_MIN_LENGTH = 5


@dataclass(frozen=True)
class Target:
    incentive_id: int
    option_id: int | None = None


@dataclass
class Reading:
    """What a message says: the targets of its exact tags, and why it is doubtful (if so)."""

    targets: set[Target] = field(default_factory=set)
    doubts: list[str] = field(default_factory=list)


def edit_distance(a: str, b: str, limit: int = 1_000) -> int:
    """Levenshtein distance; stops early (returning limit + 1) once it must exceed `limit`."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _deletions(word: str, depth: int) -> set[str]:
    variants = {word}
    for count in range(1, min(depth, len(word) - 1) + 1):
        for positions in combinations(range(len(word)), count):
            variants.add("".join(c for i, c in enumerate(word) if i not in positions))
    return variants


class TagIndex:
    """Every tag and option title of a campaign's incentives, with the target each names."""

    def __init__(self, tags: dict[str, Target], titles: dict[str, Target]):
        self.tags = tags  # "zelda" -> Target
        self.titles = {t: target for t, target in titles.items() if len(t) >= FUZZY_MIN_LENGTH}
        self.near: dict[str, set[str]] = {}
        for tag in tags:
            if len(tag) >= FUZZY_MIN_LENGTH:
                for variant in _deletions(tag, HASHTAG_MAX_DISTANCE):
                    self.near.setdefault(variant, set()).add(tag)

    def close_tags(self, word: str, max_distance: int) -> set[str]:
        """Known tags within `max_distance` edits of `word` (itself excluded)."""
        candidates: set[str] = set()
        for variant in _deletions(word, max_distance):
            candidates.update(self.near.get(variant, ()))
        candidates.discard(word)
        return {
            tag
            for tag in candidates
            if abs(len(tag) - len(word)) <= max_distance
            and edit_distance(word, tag, max_distance) <= max_distance
        }


def _hashtag_doubts(words: list[str], index: TagIndex, reading: Reading) -> None:
    for word in words:
        target = index.tags.get(word)
        if target is not None:
            reading.targets.add(target)
        elif len(word) >= FUZZY_MIN_LENGTH:
            for tag in sorted(index.close_tags(word, HASHTAG_MAX_DISTANCE)):
                reading.doubts.append(f"#{word} looks like #{tag}")


def _mentions(lowered: str, index: TagIndex) -> list[tuple[str, Target]]:
    """Tags written without '#', near misses of them, and options' titles, with their targets."""
    found = []
    for word in WORD.findall(lowered):
        if word in index.tags:
            found.append((f"names {word!r} without #", index.tags[word]))
        elif len(word) >= WORD_FUZZY_MIN_LENGTH:
            for tag in sorted(index.close_tags(word, WORD_MAX_DISTANCE)):
                found.append((f"{word!r} looks like #{tag}", index.tags[tag]))
    for title, target in index.titles.items():
        if title in lowered and re.search(rf"(?<!\w){re.escape(title)}(?!\w)", lowered):
            found.append((f"names {title!r}", target))
    return found


def read_message(message: str, index: TagIndex) -> Reading:
    reading = Reading()
    if not message:
        return reading
    lowered = message.lower()
    _hashtag_doubts(HASHTAG.findall(lowered), index, reading)
    for why, target in _mentions(lowered, index):
        # Naming the very option the one tag points at ("#zelda Zelda forever") is no doubt.
        if reading.targets != {target}:
            reading.doubts.append(why)
    return reading
