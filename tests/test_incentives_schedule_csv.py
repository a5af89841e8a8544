"""A run schedule from CSV (fundboard/incentives/schedule_csv.py, `manage.py loadschedule`):
good files load idempotently and attach incentives; hostile ones are refused whole, with
the line and the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from fundboard.campaigns.models import Campaign
from fundboard.incentives.models import Incentive, IncentiveKind, Run
from fundboard.incentives.schedule_csv import (
    MAX_BYTES,
    ScheduleCSVError,
    import_schedule,
    parse_schedule_csv,
)

from .factories import make_campaign

GOOD = (
    "\ufefftitle,start,estimate,incentives\r\n"
    "Zelda any%,2026-12-01T18:00:00Z,1:30:00,blind\r\n"
    '"Tetris, 99",,45,\r\n'
    "\r\n"
)


@pytest.fixture
def campaign(db) -> Campaign:
    campaign = make_campaign("marathon")
    Incentive.objects.create(
        campaign=campaign, key="blind", kind=IncentiveKind.GOAL, title="Blindfold", goal=Decimal(9)
    )
    return campaign


def test_a_spreadsheet_export_loads_in_order_and_attaches_incentives(campaign):
    version = campaign.version
    assert import_schedule(campaign, GOOD.encode()) == (2, 0)
    runs = list(Run.objects.filter(campaign=campaign))
    assert [(r.title, r.order, r.estimate) for r in runs] == [
        ("Zelda any%", 0, timedelta(minutes=90)),
        ("Tetris, 99", 1, timedelta(minutes=45)),
    ]
    assert runs[0].starts_at == datetime(2026, 12, 1, 18, tzinfo=UTC)
    assert Incentive.objects.get(key="blind").run == runs[0]
    assert Campaign.objects.get(pk=campaign.pk).version > version  # viewers are told


def test_loading_again_updates_and_never_touches_a_run_that_started(campaign):
    import_schedule(campaign, GOOD)
    started = datetime(2026, 12, 1, 18, 5, tzinfo=UTC)
    Run.objects.filter(title="Zelda any%").update(started_at=started)
    again = "estimate,title\n2:00,Zelda any%\n"  # columns in any order
    assert import_schedule(campaign, again) == (0, 1)
    run = Run.objects.get(title="Zelda any%")
    assert (run.estimate, run.started_at, run.starts_at) == (timedelta(hours=2), started, None)
    assert Run.objects.filter(campaign=campaign).count() == 2  # Tetris left alone


def test_the_command_reports_and_refuses(campaign, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD, encoding="utf-8")
    call_command("loadschedule", "marathon", str(path))
    assert Run.objects.count() == 2
    path.write_text("title,start\nX,yesterday\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2: start 'yesterday' is not an ISO-8601"):
        call_command("loadschedule", "marathon", str(path))
    with pytest.raises(CommandError, match="no campaign 'nope'"):
        call_command("loadschedule", "nope", str(path))


HOSTILE = {
    "no header": ("", "the header must name"),
    "unknown column": ("title,starts\nA,\n", "found 'title', 'starts'"),
    "no title column": ("start,estimate\n,45\n", "title required"),
    "twice a column": ("title,title\nA,B\n", "each once"),
    "ragged row": ("title,estimate\nA,45,extra\n", "line 2: 3 fields, the header has 2"),
    "empty title": ("title,estimate\n  ,45\n", "line 2: title is empty"),
    "long title": ("title\n" + "x" * 201 + "\n", "line 2: title is over 200 characters"),
    "same title twice": ("title\nA\na\n", "line 3: a second run titled 'a'"),
    "negative estimate": ("title,estimate\nA,-5\n", "estimate '-5' is not minutes"),
    "zero estimate": ("title,estimate\nA,0\n", "between 1 minute and 48 hours"),
    "huge estimate": ("title,estimate\nA,99999999\n", "between 1 minute and 48 hours"),
    "bad minutes": ("title,estimate\nA,1:75\n", "minutes or seconds over 59"),
    "naive start": ("title,start\nA,2026-12-01T18:00:00\n", "with a zone"),
    "impossible date": ("title,start\nA,2026-02-30T18:00:00Z\n", "is not an ISO-8601"),
    "unknown incentive": ("title,incentives\nA,blind;nope\n", "no incentive with key 'nope'"),
    "only blank lines": ("title\n\n , \n", "lists no runs"),
    "NUL bytes": ("title\nA\x00\n", "NUL bytes"),
    "unclosed quote": ('title\n"A\n', "line 2: unexpected end of data"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_with_a_reason(name):
    text, reason = HOSTILE[name]
    with pytest.raises(ScheduleCSVError) as refused:
        parse_schedule_csv(text, {"blind"})
    assert reason in str(refused.value)


def test_refusals_are_whole_and_list_every_line(campaign):
    text = "title,estimate\nGood,45\n,45\nAlso good,abc\n"
    with pytest.raises(ScheduleCSVError) as refused:
        import_schedule(campaign, text)
    assert refused.value.reasons == [
        "line 3: title is empty",
        "line 4: estimate 'abc' is not minutes or H:MM[:SS]",
    ]
    assert not Run.objects.exists()  # not even the good line


def test_size_rows_and_encoding_are_bounded():
    with pytest.raises(ScheduleCSVError, match="over 256 KB"):
        parse_schedule_csv(b"title\n" + b"x\n" * MAX_BYTES, set())
    with pytest.raises(ScheduleCSVError, match="more than 1000 runs"):
        parse_schedule_csv("title\n" + "".join(f"run {i}\n" for i in range(1001)), set())
    with pytest.raises(ScheduleCSVError, match="not UTF-8"):
        parse_schedule_csv("title\nCaf\xe9\n".encode("latin-1"), set())
