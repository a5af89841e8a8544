"""Sponsor match windows: exactly the donations inside a window's time, until its cap, in
arrival order, across overlapping windows by precedence; removal releases (issue 15)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fundboard.campaigns.loader import ConfigError, load_campaigns
from fundboard.fx.services import set_rate
from fundboard.ingest.services import ingest_donations, remove_donations
from fundboard.live.snapshot import build_snapshot
from fundboard.matching.models import MatchWindow

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def window(campaign, sponsor, start, end, cap, ratio="1", precedence=0) -> MatchWindow:
    return MatchWindow.objects.create(
        campaign=campaign, sponsor=sponsor, starts_at=at(start), ends_at=at(end),
        cap=Decimal(cap), ratio=Decimal(ratio), precedence=precedence,
    )  # fmt: skip


def matches(slug: str = "drive") -> dict[str, tuple[str, str]]:
    return {m["sponsor"]: (m["matched"], m["remaining"]) for m in build_snapshot(slug)["matches"]}


def test_one_window_matches_only_donations_inside_its_time_until_its_cap():
    campaign = make_campaign()
    window(campaign, "Acme", 0, 60, "100")
    source = make_source(campaign)
    ingest_donations(source.pk, [record("40", uid="before", when=at(-1))])
    ingest_donations(source.pk, [record("30", uid="a", when=at(0))])
    ingest_donations(source.pk, [record("50", uid="b", when=at(10))])
    ingest_donations(source.pk, [record("45", uid="c", when=at(20))])  # only 20 left
    ingest_donations(source.pk, [record("10", uid="d", when=at(30))])  # cap used up
    ingest_donations(source.pk, [record("99", uid="end", when=at(60))])  # ends_at excluded
    assert matches() == {"Acme": ("100.00", "0.00")}
    snapshot = build_snapshot("drive")
    assert snapshot["total"] == "274.00"  # count_matches is off: donations only
    entry = snapshot["matches"][0]
    assert entry["cap"] == "100.00" and entry["ratio"] == "1.00" and entry["active"] is False
    assert entry["starts_at"] == "2026-12-05T18:00:00Z"


def test_two_overlapping_windows_by_precedence_and_the_remainder_goes_on():
    campaign = make_campaign(count_matches=True)
    window(campaign, "Acme", 0, 60, "25", precedence=0)  # first
    window(campaign, "Bolt", 30, 90, "100", ratio="0.5", precedence=1)
    source = make_source(campaign)
    ingest_donations(source.pk, [record("10", uid="a", when=at(5))])  # Acme 10
    # Both open: Acme gives its last 15 for 15 of it; the other 25 are offered to Bolt (×0.5).
    ingest_donations(source.pk, [record("40", uid="b", when=at(35))])
    ingest_donations(source.pk, [record("7.15", uid="c", when=at(70))])  # Bolt alone: 3.57
    assert matches() == {"Acme": ("25.00", "0.00"), "Bolt": ("16.07", "83.93")}
    # count_matches: the sponsors' money is in the total.
    assert build_snapshot("drive")["total"] == f"{Decimal('57.15') + Decimal('41.07'):.2f}"


def test_removal_releases_the_match_to_later_donations():
    campaign = make_campaign()
    window(campaign, "Acme", 0, 60, "50")
    source = make_source(campaign)
    ingest_donations(source.pk, [record("40", uid="a", when=at(1))])
    ingest_donations(source.pk, [record("30", uid="b", when=at(2))])
    assert matches() == {"Acme": ("50.00", "0.00")}
    remove_donations(source.pk, ["a"])
    assert matches() == {"Acme": ("30.00", "20.00")}
    remove_donations(source.pk, ["b"])
    assert matches() == {"Acme": ("0.00", "50.00")}


def test_converted_donations_are_matched_for_their_converted_value_and_tests_never():
    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.1"))
    window(campaign, "Acme", 0, 60, "1000")
    source = make_source(campaign)
    ingest_donations(
        source.pk,
        [
            record("50", currency="EUR", when=at(1)),  # 55.00
            record("20", currency="MXN", when=at(2)),  # no rate: held, not matched
            record("500", currency="XTS", when=at(3)),  # a test
        ],
    )
    assert matches() == {"Acme": ("55.00", "945.00")}


def test_an_active_window_says_so():
    campaign = make_campaign()
    now = datetime.now(UTC)
    MatchWindow.objects.create(
        campaign=campaign, sponsor="Now", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1), cap=Decimal("10"),
    )  # fmt: skip
    assert build_snapshot("drive")["matches"][0]["active"] is True


def test_match_windows_and_count_matches_from_campaigns_toml():
    config = {
        "campaign": [
            {
                "slug": "drive",
                "count_matches": True,
                "match": [
                    {"sponsor": "Acme", "starts_at": "2026-12-05T18:00:00Z",
                     "ends_at": "2026-12-05T21:00:00Z", "cap": "10000"},
                    {"sponsor": "Bolt", "starts_at": "2026-12-05T19:00:00Z",
                     "ends_at": "2026-12-05T20:00:00Z", "cap": "500", "ratio": "2"},
                ],
            }
        ]
    }  # fmt: skip
    load_campaigns(config)
    rows = list(MatchWindow.objects.values_list("sponsor", "cap", "ratio", "precedence"))
    assert rows == [("Acme", 10000, 1, 0), ("Bolt", 500, 2, 1)]
    assert build_snapshot("drive")["matches"][1]["ratio"] == "2.00"
    config["campaign"][0]["match"] = config["campaign"][0]["match"][:1]
    load_campaigns(config)
    assert MatchWindow.objects.count() == 1
    config["campaign"][0]["match"][0]["ends_at"] = "2026-12-05T17:00:00Z"  # before start
    with pytest.raises(ConfigError):
        load_campaigns(config)


def test_the_match_widget_page_and_the_thermometer_load_the_match_line(client):
    campaign = make_campaign()
    window(campaign, "<b>Acme</b>", 0, 60, "10000")
    page = client.get("/c/drive/match")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    html = page.content.decode()
    assert "fundboard/match.js" in html and 'id="fb-match-line"' in html
    assert "<b>Acme</b>" not in html  # in the JSON only, escaped; drawn as text
    thermometer = client.get("/c/drive/thermometer").content.decode()
    assert "fundboard/match.js" in thermometer and 'id="match"' in thermometer


# match.js is an ES module (imported by live.js): node loads it as one.
MATCH_LINE_SCRIPT = """
import { pathToFileURL } from "node:url";
globalThis.window = {}; globalThis.document = { getElementById: () => null };
const m = await import(pathToFileURL(process.argv[1]));
const money = (v, c) => new Intl.NumberFormat("en-US", {style: "currency", currency: c}).format(v);
const snap = {currency: "USD", matches: [
  {sponsor: "Old", ratio: "1.00", starts_at: "2000-01-01T00:00:00Z",
   ends_at: "2000-01-02T00:00:00Z", cap: "5.00", matched: "0.00", remaining: "5.00", active: false},
  {sponsor: "Acme", ratio: "1.00", starts_at: "2000-01-01T00:00:00Z",
   ends_at: "2999-01-01T21:00:00Z", cap: "10000.00", matched: "6790.00",
   remaining: "3210.00", active: true}]};
const active = m.activeMatch(snap, Date.now());
console.log(m.matchLine(active, "USD", money, "en-US"));
"""


def test_the_match_line_says_ratio_end_and_what_is_left():
    import shutil
    import subprocess
    from pathlib import Path

    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = Path(__file__).resolve().parent.parent / "static/fundboard/match.js"
    result = subprocess.run(
        ["node", "--experimental-detect-module", "--input-type=module", "-e", MATCH_LINE_SCRIPT,
         str(script)],
        capture_output=True, text=True, timeout=20, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Acme: ×2 until 9 PM · $3,210.00 of $10,000.00 matched left"


def test_an_admin_saved_window_is_in_the_next_snapshot(admin_client, settings):
    settings.AXES_ENABLED = False
    campaign = make_campaign()
    version = campaign.version
    response = admin_client.post(
        "/admin/matching/matchwindow/add/",
        {
            "campaign": campaign.pk, "sponsor": "Acme", "starts_at_0": "2026-12-05",
            "starts_at_1": "18:00:00", "ends_at_0": "2026-12-05", "ends_at_1": "21:00:00",
            "cap": "10000", "ratio": "1", "precedence": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    campaign.refresh_from_db()
    assert campaign.version > version
    assert [m["sponsor"] for m in build_snapshot("drive")["matches"]] == ["Acme"]
    assert admin_client.get("/admin/fx/exchangerate/").status_code == 200


def test_a_lone_doubling_window_summed_in_sql_equals_the_row_by_row_rule():
    from fundboard.matching.compute import MatchState, _match_alone, _match_in_order

    campaign = make_campaign()
    set_rate(campaign, "EUR", Decimal("1.0842"))
    source = make_source(campaign)
    amounts = ["0.01", "19.99", "7.77", "250", "3.33", "0.05", "99.99", "12.34"]
    ingest_donations(
        source.pk,
        [
            record(a, currency="EUR" if i % 2 else "USD", when=at(i * 5))
            for i, a in enumerate(amounts)
        ],
    )
    for cap in ("0", "5.00", "123.45", "299.99", "100000"):
        w = window(campaign, f"cap {cap}", 0, 30, cap)
        summed, row_by_row = MatchState(w, Decimal(0)), MatchState(w, Decimal(0))
        _match_alone(campaign, summed)
        _match_in_order(campaign, [row_by_row])
        assert summed.matched == row_by_row.matched, cap


def test_windows_apart_and_a_lone_window_with_another_ratio():
    campaign = make_campaign()
    window(campaign, "Early", 0, 10, "1000", ratio="0.5")
    window(campaign, "Late", 10, 20, "15")  # starts when Early ends: no overlap
    source = make_source(campaign)
    ingest_donations(source.pk, [record("9.99", uid="a", when=at(9))])  # Early: 4.99
    ingest_donations(source.pk, [record("10", uid="b", when=at(10))])  # Late: 10
    ingest_donations(source.pk, [record("10", uid="c", when=at(11))])  # Late: 5 (cap)
    assert matches() == {"Early": ("4.99", "995.01"), "Late": ("15.00", "0.00")}
