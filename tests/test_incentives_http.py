"""Marathon incentives end to end: donations come from the sandbox's ImRaising stream over
real HTTP into a real `manage.py serve`; viewers read the public JSON and the websocket.

Staff act through the dashboard's forms (a moderator signed in over HTTP); everything a viewer
sees is read over HTTP and the socket. The module's tests share one server, each with a
marathon campaign of its own fed by a sandbox of its own.
"""

import json

import pytest
from django.db.models import Sum

from fundboard.incentives.models import Review, Run
from fundboard.ingest.models import Donation

from .dashboard_support import StaffSession, create_user
from .support import FundboardServer, wait_for
from .test_stream_end_to_end import add_streamed_campaign, control, donation, remove_campaign

MARATHON = """
  [[campaign.run]]
  title = "Zelda any%"
  minutes = 90

  [[campaign.incentive]]
  key = "name"
  kind = "bidwar"
  title = "Name the hero"
  winners = 2
    [[campaign.incentive.option]]
    title = "Link"
    tags = ["link"]
    [[campaign.incentive.option]]
    title = "Zelda"
    tags = ["zelda"]
    [[campaign.incentive.option]]
    title = "Ganon"
    tags = ["ganon"]

  [[campaign.incentive]]
  key = "chain"
  kind = "stretch"
  title = "Extra runs"
  tags = ["stretch"]
    [[campaign.incentive.option]]
    title = "Bonus 1"
    goal = "50"
    [[campaign.incentive.option]]
    title = "Bonus 2"
    goal = "100"

  [[campaign.incentive]]
  key = "blind"
  kind = "goal"
  title = "Blindfold"
  goal = "100"
  tags = ["blindfold"]
  run = "Zelda any%"
"""


def window_sum(server, slug: str) -> str:
    """The counted donations inside the run's window, summed in the database."""

    def total() -> str:
        run = Run.objects.get(campaign__slug=slug, title="Zelda any%")
        qs = Donation.objects.counted().filter(
            campaign__slug=slug, donated_at__gte=run.started_at, donated_at__lt=run.ended_at
        )
        return f"{qs.aggregate(t=Sum('amount'))['t']:.2f}"

    return server.orm(total)


def pending_reviews(server, slug: str) -> list[str]:
    def names() -> list[str]:
        reviews = Review.objects.filter(campaign__slug=slug, state="pending")
        return sorted(r.donation.display_name for r in reviews)

    return server.orm(names)


def by_title(snapshot: dict, title: str) -> dict:
    return next(i for i in snapshot["incentives"] if i["title"] == title)


def options(snapshot: dict, title: str) -> dict:
    return {o["title"]: o["total"] for o in by_title(snapshot, title)["options"]}


def marathon_server(tmp_path_factory, db_blocker) -> FundboardServer:
    """A started server with the moderator "mia" (the caller closes it)."""
    server = FundboardServer(tmp_path_factory.mktemp("marathon"), db_blocker=db_blocker)
    create_user(server, "mia", "Moderators")
    return server.start()


def marathon(server, sandbox_server, slug: str):
    """This test's marathon campaign on the shared server, fed by this test's sandbox, and
    the moderator's signed-in session."""
    add_streamed_campaign(server, sandbox_server, slug, MARATHON)
    return StaffSession(server, "mia")


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_blocker):
    server = marathon_server(tmp_path_factory, django_db_blocker)
    yield server
    server.close()


@pytest.fixture
def slug(server, sandbox_server, request):
    slug = request.node.originalname.removeprefix("test_")[:40]
    yield slug
    remove_campaign(server, slug)


def option_id(snapshot: dict, incentive: str, title: str) -> str:
    item = by_title(snapshot, incentive)
    option = next(o for o in item["options"] if o["title"] == title)
    return f"{item['id']}:{option['id']}"


def donation_id(snapshot: dict, name: str) -> int:
    return next(d["id"] for d in snapshot["recent"] if d["name"] == name)


def run_action(staff, snapshot: dict, action: str) -> None:
    run = snapshot["schedule"]["runs"][0]["id"]
    url = f"/dashboard/{snapshot['slug']}/incentives/runs/{run}"
    answer = staff.post(url, {"action": action}, json_answer=False)
    assert answer.status_code == 302


def test_tags_allocate_doubts_queue_splits_and_refunds_release(server, sandbox_server, slug):
    staff = marathon(server, sandbox_server, slug)
    with server.live_client(slug, "events=0") as viewer:
        viewer.receive()
        gifts = [
            donation("Ann", "25.00", message="Go #Zelda go"),
            donation("Bob", "10.00", message="#zleda!"),  # misspelt: queued
            donation("Cat", "30.00", message="half to zelda, half to link"),  # queued
            donation("Dan", "12.00", message="#link #link"),  # one tag twice: exact
        ]
        ids = control(sandbox_server, "donations", gifts)["ids"]
        wait_for(lambda: server.total(slug) == "77.00")
        snapshot = server.snapshot(slug)
        assert options(snapshot, "Name the hero") == {
            "Zelda": "25.00", "Link": "12.00", "Ganon": "0.00"
        }  # fmt: skip
        # The viewer's socket carried the allocation with the donations' own version.
        viewer.wait_for(
            lambda m: (
                m["type"] == "snapshot" and options(m["data"], "Name the hero")["Link"] == "12.00"
            )
        )
        assert pending_reviews(server, slug) == ["Bob", "Cat"]
        split = {
            "action": "split",
            "target_1": option_id(snapshot, "Name the hero", "Zelda"),
            "amount_1": "15",
            "target_2": option_id(snapshot, "Name the hero", "Link"),
            "amount_2": "15",
        }
        url = f"/dashboard/{slug}/incentives/donations/{donation_id(snapshot, 'Cat')}"
        assert staff.post(url, split, json_answer=False).status_code == 302
        viewer.wait_for(
            lambda m: m["type"] == "snapshot"
            and options(m["data"], "Name the hero") == {
                "Zelda": "40.00", "Link": "27.00", "Ganon": "0.00"
            }
        )  # fmt: skip
        control(sandbox_server, "delete", {"_id": ids[3]})  # Dan's gift is refunded
        wait_for(lambda: options(server.snapshot(slug), "Name the hero")["Link"] == "15.00")
    assert server.total(slug) == "65.00"


def test_runs_stretch_chain_closing_and_top_n(server, sandbox_server, slug):
    staff = marathon(server, sandbox_server, slug)
    control(sandbox_server, "donations", donation("Early", "5.00", message="#blindfold"))
    wait_for(lambda: server.total(slug) == "5.00")
    assert by_title(server.snapshot(slug), "Blindfold")["total"] == "0.00"  # not open yet
    run_action(staff, server.snapshot(slug), "start")
    run_gifts = [
        donation("A", "30.00", message="#stretch"),
        donation("B", "25.00", message="#stretch #stretch"),
        donation("C", "40.00", message="#blindfold"),
        donation("D", "9.00", message="#ganon"),
        donation("E", "7.00", message="#link"),
        donation("F", "3.00", message="#zelda"),
    ]
    control(sandbox_server, "donations", run_gifts)
    wait_for(lambda: server.total(slug) == "119.00")
    run_action(staff, server.snapshot(slug), "stop")
    control(sandbox_server, "donations", donation("Late", "11.00", message="#blindfold"))
    wait_for(lambda: server.total(slug) == "130.00")
    snapshot = server.snapshot(slug)
    blind = by_title(snapshot, "Blindfold")
    assert (blind["state"], blind["total"]) == ("closed", "40.00")  # closed with its run
    chain = by_title(snapshot, "Extra runs")
    assert chain["total"] == "55.00" and chain["winners"] == [chain["options"][0]["id"]]
    run = snapshot["schedule"]["runs"][0]
    assert run["total"] == window_sum(server, slug) == "114.00"
    # The bid war closes: the top two win, and a late tag is queued, not counted.
    hero = by_title(server.snapshot(slug), "Name the hero")
    closed = staff.post(f"/dashboard/{slug}/incentives/{hero['id']}/close", json_answer=False)
    assert closed.status_code == 302
    control(sandbox_server, "donations", donation("G", "50.00", message="#zelda"))
    wait_for(lambda: server.total(slug) == "180.00")
    hero = by_title(server.snapshot(slug), "Name the hero")
    ids = {o["title"]: o["id"] for o in hero["options"]}
    assert hero["winners"] == [ids["Ganon"], ids["Link"]]
    assert options(server.snapshot(slug), "Name the hero")["Zelda"] == "3.00"
    assert json.dumps(server.snapshot(slug)).count("incentives") == 1
