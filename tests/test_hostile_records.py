"""Hostile upstream records (issue 12, findings 1, 7, 8): valid text, strict numbers and ids,
one bad row rejected alone, bounded stream parsing, loops that survive their bugs."""

import asyncio
import logging
from decimal import Decimal

import pytest

from fundboard.ingest.models import Donation
from fundboard.ingest.services import apply_poll_result, ingest_donations, record_failure
from fundboard.live.snapshot import build_snapshot
from fundboard.providers import actionnetwork, bounded_json, imraising, p2p
from fundboard.providers.cleaning import (
    clean_id,
    clean_message,
    clean_name,
    parse_amount,
    upstream_text,
)
from fundboard.providers.errors import BadRecord, UpstreamUnavailable
from fundboard.providers.imraising.sse import EventDecoder, LineSplitter, StreamTooLarge
from fundboard.providers.records import PollResult
from fundboard.runners.keep_running import keep_running
from fundboard.runners.sources import load_config, stored_donor_totals

from .factories import make_campaign, make_source, record

# --- names and messages: valid, visible text --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Batch 10 \ud83d", "Batch 10 \ufffd"),  # half an emoji
        ("\udc00lone low", "\ufffdlone low"),
        ("Anonymous\u200b", "Anonymous"),  # zero-width space
        ("Anon\u00adymous\u2060\ufeff", "Anonymous"),  # soft hyphen, word joiner, BOM
        ("Ann\u200d", "Ann"),  # a joiner next to ASCII only hides
        ("\u3164\u115f", ""),  # Hangul fillers: blank names
        ("\u200e\u200fRLM", "RLM"),  # bidi marks
        ("x\ufffey\U0010ffff", "xy"),  # noncharacters
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"),  # an emoji sequence stays
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian's non-joiner stays
        ("Zoë 🎉 山田", "Zoë 🎉 山田"),
    ],
)
def test_names_become_valid_visible_text(raw, clean):
    assert clean_name(raw) == clean
    clean_name(raw).encode("utf-8")  # never raises


def test_a_name_empty_after_cleaning_is_anonymous_and_messages_keep_their_lines():
    assert clean_name("\u200b\u200c\u200d\u2060") == ""
    assert clean_message("line 1\u200b\nline 2 \ud83d") == "line 1\nline 2 \ufffd"
    assert clean_name("N" * 10_000_000)[-1] == "…"  # a huge name costs no more than a long one


@pytest.mark.django_db
def test_an_invisible_name_shows_as_anonymous():
    source = make_source(make_campaign())
    ingest_donations(source.pk, [record("5.00", name=clean_name("\u200b\u3164"))])
    assert build_snapshot("drive")["recent"][0]["name"] == "Anonymous"


# --- amounts and ids: strict forms only ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", "12.50"),
        ("12", "12.00"),
        (" 12.5\t", "12.50"),  # surrounding spaces and tabs are tolerated
        (12, "12.00"),
        (12.5, "12.50"),
        ("0.005", "0.01"),  # rounds half up to a cent: a donation
    ],
)
def test_amounts_in_strict_forms_are_read(value, expected):
    assert parse_amount(value) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("١٢", "not a number"),  # Arabic-Indic digits
        ("1_000", "not a number"),
        ("1e3", "not a number"),  # exponent strings are refused (numbers may use them)
        ("12.", "not a number"),
        ("+5", "not a number"),
        ("1,000.00", "not a number"),
        ("\u00a012", "not a number"),  # only ASCII spaces and tabs are stripped
        ("1" * 40, "not a number"),
        ({"x": 1}, "not a number"),
        ([12], "not a number"),
        ("0.001", "positive"),  # 0.00 after rounding
        ("0.004", "positive"),
        (0.004, "positive"),
        (1e-9, "positive"),
        (-0.001, "positive"),
        ("-Infinity", "finite"),
    ],
)
def test_other_amount_forms_are_rejected(value, reason):
    with pytest.raises(BadRecord, match=reason):
        parse_amount(value)


def test_a_total_may_be_zero_but_never_negative_zero():
    assert parse_amount("0.004", allow_zero=True) == Decimal("0.00")
    with pytest.raises(BadRecord, match="positive"):
        parse_amount("-0.001", allow_zero=True)


@pytest.mark.parametrize("value", ["abc", 12345, "x" * 100])
def test_ids_are_strings_or_integers(value):
    assert clean_id(value) == str(value)


@pytest.mark.parametrize(
    "value", [{"x": 1}, ["a"], 1.5, True, None, "", "x" * 101, 10**100, "a\ud83d", "a\x00b"]
)
def test_other_ids_are_rejected(value):
    with pytest.raises(BadRecord):
        clean_id(value)


def test_each_platform_rejects_an_object_id_instead_of_storing_its_repr():
    document = {
        "_id": {"x": 1},
        "nickname": "Ann",
        "amount": {"display": {"total": "5.00", "currency": "USD"}},
    }
    with pytest.raises(BadRecord, match="_id"):
        imraising.parse_donation(document)
    names = p2p.P2PConfig.from_options({}).fields["gifts"]
    gift = {"id": {"x": 1}, "amount": "5", "currency": "USD", "date": "2026-01-01T00:00:00Z"}
    with pytest.raises(BadRecord, match="id"):
        p2p.parse_gift(gift, names, "USD")
    gift["id"], gift["fundraiser_id"] = "g1", {"x": 1}
    with pytest.raises(BadRecord, match="fundraiser_id"):
        p2p.parse_gift(gift, names, "USD")
    page = {"identifiers": ["action_network:" + "x" * 200], "total_amount": 5}
    with pytest.raises(BadRecord, match="identifier"):
        actionnetwork.parse_fundraising_page(page)


def test_p2p_counts_are_ascii_digits_or_integers():
    names = p2p.P2PConfig.from_options({}).fields["fundraisers"]
    base = {"id": "f1", "name": "F", "raised": "5"}
    assert p2p.parse_fundraiser({**base, "donation_count": "12"}, names, "USD").donation_count == 12
    for bad in ("١٢", "1_000", 1.5, "1e3"):
        with pytest.raises(BadRecord, match="donation_count"):
            p2p.parse_fundraiser({**base, "donation_count": bad}, names, "USD")


# --- one row the database refuses is rejected alone ---------------------------------------


@pytest.mark.django_db
def test_a_row_the_database_refuses_is_rejected_alone_and_the_batch_is_stored(caplog):
    """A record that still cannot be stored (here: text that reached the service without
    going through the cleaner) costs only itself, with its reason on health and in the log."""
    source = make_source(make_campaign(), kind="imraising")
    batch = [record("1.00", uid=f"ok{i}") for i in range(5)]
    batch.insert(2, record("7.00", name="bad \ud83d", uid="bad"))
    with caplog.at_level(logging.WARNING, logger="fundboard.ingest"):
        outcome = ingest_donations(source.pk, batch)
    assert sorted(d.upstream_id for d in outcome.added) == [f"ok{i}" for i in range(5)]
    assert len(outcome.rejected) == 1 and "'bad'" in outcome.rejected[0]
    assert build_snapshot("drive")["total"] == "5.00"
    source.refresh_from_db()
    assert source.rejected_records == 1 and "'bad' could not be stored" in source.last_rejection
    assert "could not be stored" in caplog.text

    # The same through a poll's result.
    polled = [record("2.00", uid="p1"), record("3.00", name="\udfff", uid="p2")]
    apply_poll_result(source.pk, PollResult(donations=polled))
    assert set(Donation.objects.values_list("upstream_id", flat=True)) >= {"p1"}
    assert not Donation.objects.filter(upstream_id__in=["bad", "p2"]).exists()
    source.refresh_from_db()
    assert source.rejected_records == 2


@pytest.mark.django_db
def test_reconciliation_reads_back_the_names_it_stored():
    source = make_source(make_campaign(), kind="imraising")
    name = clean_name("Batch 10 \ud83d")
    ingest_donations(source.pk, [record("50.00", name=name), record("1.00", name="")])
    totals = stored_donor_totals(load_config(source.pk), [name, clean_name("\u200b")])
    assert totals == {name: Decimal("50.00")}


@pytest.mark.django_db
def test_health_text_is_bounded_single_line_and_keyless():
    source = make_source(make_campaign(), kind="p2p", api_key="SECRET-KEY-123456")
    hostile = "HTTP 503 \x1b[31mEvil\nline\u202e SECRET-KEY-123456 " + "x" * 5000
    record_failure(source.pk, UpstreamUnavailable(hostile))
    source.refresh_from_db()
    assert len(source.last_error) <= 300 and source.last_error.startswith("HTTP 503 [31mEvil")
    assert not any(char in source.last_error for char in "\n\x1b\u202e")
    assert "SECRET-KEY-123456" not in source.last_error
    assert len(upstream_text("y" * 1000)) == 200


# --- bounded JSON and stream parsing ------------------------------------------------------


def test_event_data_nested_too_deeply_is_a_bad_record_not_a_recursion_error():
    with pytest.raises(BadRecord, match="nested deeper than 32"):
        imraising.decode_event_data("[" * 100_000)
    with pytest.raises(BadRecord, match="larger than"):
        imraising.decode_event_data('{"_id": "' + "x" * 300_000 + '"}')
    with pytest.raises(bounded_json.JSONRejected):
        bounded_json.loads("{" * 40 + "}" * 40)


def test_lines_split_on_every_sse_line_end_even_across_chunks():
    splitter = LineSplitter(max_line=100)
    lines = []
    for chunk in ["data: a\r", "\ndata: b\rdata", ": c\n\n:", "heartbeat\r\n"]:
        lines += splitter.feed(chunk)
    assert lines == ["data: a", "data: b", "data: c", "", ":heartbeat"]


def test_a_line_longer_than_the_bound_ends_the_stream():
    splitter = LineSplitter(max_line=100)
    splitter.feed("data: " + "x" * 90)
    with pytest.raises(StreamTooLarge):
        splitter.feed("x" * 20)


def test_an_event_with_too_much_data_is_delivered_as_too_large_without_it():
    decoder = EventDecoder(max_data=100)
    for line in ["event: donation.add", *["data: " + "x" * 40] * 5]:
        assert decoder.decode(line) is None
    event = decoder.decode("")
    assert event.too_large and event.data == "" and event.event == "donation.add"
    for line in ["id: 7", "data: {}", ""]:
        event = decoder.decode(line)
    assert (event.too_large, event.data, event.id) == (False, "{}", "7")
    assert decoder.decode(": heartbeat") is None and decoder.decode("") is None


# --- loops that survive their bugs -------------------------------------------------------


def test_keep_running_logs_and_restarts_a_loop_that_died(caplog):
    calls = []

    async def flaky_loop():
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError(f"bug number {len(calls)}")
        await asyncio.sleep(3600)

    async def scenario():
        task = asyncio.create_task(keep_running("reconciliation", flaky_loop, 7, delay=0))
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.ERROR, logger="fundboard.runners"):
        asyncio.run(scenario())
    assert len(calls) == 3
    assert caplog.text.count("reconciliation task died; restarting it") == 2
    assert "bug number 2" in caplog.text


def test_a_name_or_message_that_is_not_text_is_left_out():
    assert clean_name({"x": 1}) == "" and clean_message(["a"]) == "" and clean_name(True) == ""
    assert clean_name(42) == "42"
