"""A run schedule from a CSV file (a spreadsheet's export): `manage.py loadschedule` and the
dashboard's schedule page both read it here.

    title,start,estimate,incentives
    Zelda any%,2026-12-01T18:00:00Z,1:30:00,blindfold hero
    Tetris 99,,45,

`title` is required and unique; `start` is an ISO-8601 planned start (blank: none);
`estimate` is minutes ("45") or H:MM[:SS] ("1:30:00"); `incentives` lists keys of the
campaign's incentives (space, comma or semicolon separated) that open and close with the run.
Columns may come in any order; other columns are refused, not ignored (a typo would drop
data silently).

Everything is checked before anything is written, and every problem is reported with its
line: a file is imported whole or not at all. Like the TOML loader it is idempotent: runs are
matched by title, a run's actual start and end are never touched, runs the file does not
list are left alone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.db import transaction
from django.utils.dateparse import parse_datetime

from fundboard.campaigns.models import Campaign
from fundboard.ingest.services import commit_change

from .models import Incentive, Run

__all__ = ["MAX_BYTES", "ScheduleCSVError", "ScheduleRow", "parse_schedule_csv", "import_schedule"]

COLUMNS = ("title", "start", "estimate", "incentives")
MAX_BYTES = 256 * 1024  # a 500-run marathon is ~30 KB
MAX_ROWS = 1000
MAX_ESTIMATE = timedelta(hours=48)
TITLE_LENGTH = cast(int, Run._meta.get_field("title").max_length)  # a CharField: never None


class ScheduleCSVError(ValueError):
    """The file is refused: `reasons` says why, line by line (at most 20 of them)."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons[:20]
        super().__init__("; ".join(self.reasons))


@dataclass
class ScheduleRow:
    title: str
    start: datetime | None
    estimate: timedelta
    incentives: list[str] = field(default_factory=list)


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BYTES:
        raise ScheduleCSVError([f"the file is over {MAX_BYTES // 1024} KB"])
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start with a BOM
    except UnicodeDecodeError:
        raise ScheduleCSVError(["the file is not UTF-8 text"]) from None
    if "\x00" in text:
        raise ScheduleCSVError(["the file contains NUL bytes (not a CSV file)"])
    return text


def _estimate(value: str) -> timedelta:
    parts = value.split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"estimate {value!r} is not minutes or H:MM[:SS]")
    if len(parts) == 1:
        estimate = timedelta(minutes=int(parts[0]))
    else:
        hours, minutes, seconds = (int(p) for p in (parts + ["0"])[:3])
        if minutes >= 60 or seconds >= 60:
            raise ValueError(f"estimate {value!r} has minutes or seconds over 59")
        estimate = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if not timedelta(0) < estimate <= MAX_ESTIMATE:
        raise ValueError(f"estimate {value!r} is not between 1 minute and 48 hours")
    return estimate


def _start(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"start {value!r} is not an ISO-8601 time with a zone (…Z or +01:00)")
    return moment


def _row(values: dict[str, str], known_keys: set[str]) -> ScheduleRow:
    title = " ".join(values.get("title", "").split())  # no newlines or tabs in a title
    if not title:
        raise ValueError("title is empty")
    if len(title) > TITLE_LENGTH:
        raise ValueError(f"title is over {TITLE_LENGTH} characters")
    keys = values.get("incentives", "").replace(",", " ").replace(";", " ").split()
    unknown = [k for k in keys if k not in known_keys]
    if unknown:
        raise ValueError(f"no incentive with key {', '.join(map(repr, unknown))}")
    estimate = _estimate(values.get("estimate", "").strip() or "60")
    return ScheduleRow(title, _start(values.get("start", "").strip()), estimate, keys)


def _header(reader) -> list[str]:
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = sorted(set(header) - set(COLUMNS))
    if unknown or "title" not in header or len(set(header)) != len(header):
        raise ScheduleCSVError(
            [f"line 1: the header must name some of {', '.join(COLUMNS)} (title required), "
             f"each once; found {', '.join(map(repr, header)) or 'nothing'}"]
        )  # fmt: skip
    return header


def parse_schedule_csv(data: bytes | str, known_keys: set[str]) -> list[ScheduleRow]:
    """The file's runs, in order; ScheduleCSVError with every problem found."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    try:
        header = _header(reader)
        rows: list[ScheduleRow] = []
        reasons: list[str] = []
        seen: set[str] = set()
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines (a spreadsheet's trailing ones)
            if len(rows) + len(reasons) >= MAX_ROWS:
                raise ScheduleCSVError([f"more than {MAX_ROWS} runs"])
            if len(values) != len(header):
                reasons.append(f"line {line}: {len(values)} fields, the header has {len(header)}")
                continue
            try:
                row = _row(dict(zip(header, values, strict=True)), known_keys)
            except ValueError as error:
                reasons.append(f"line {line}: {error}")
                continue
            if row.title.lower() in seen:
                reasons.append(f"line {line}: a second run titled {row.title!r}")
            seen.add(row.title.lower())
            rows.append(row)
    except csv.Error as error:
        raise ScheduleCSVError([f"line {reader.line_num}: {error}"]) from None
    if reasons:
        raise ScheduleCSVError(reasons)
    if not rows:
        raise ScheduleCSVError(["the file lists no runs"])
    return rows


def import_schedule(campaign: Campaign, data: bytes | str) -> tuple[int, int]:
    """Read a CSV schedule into the campaign (all or nothing); returns (created, updated)."""
    keys = set(Incentive.objects.filter(campaign=campaign).values_list("key", flat=True))
    rows = parse_schedule_csv(data, keys)
    created = 0
    with transaction.atomic():
        for order, row in enumerate(rows):
            run, is_new = Run.objects.update_or_create(
                campaign=campaign,
                title=row.title,
                defaults={"order": order, "starts_at": row.start, "estimate": row.estimate},
            )
            created += is_new
            if row.incentives:
                Incentive.objects.filter(campaign=campaign, key__in=row.incentives).update(run=run)
        commit_change(campaign)  # the schedule is in the snapshot
    return created, len(rows) - created
