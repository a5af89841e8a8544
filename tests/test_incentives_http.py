"""Marathon incentives end to end: donations come from the sandbox's ImRaising stream over
real HTTP into a real `manage.py serve`; viewers read the public JSON and the websocket.

Staff act through the dashboard's forms (a moderator signed in over HTTP); everything a viewer
sees is read over HTTP and the socket.
"""

import json

from .dashboard_support import StaffSession, create_user
from .support import wait_for
from .test_stream_end_to_end import campaign_toml, control, donation, start

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

WINDOW_SUM = """
from django.db.models import Sum
from fundboard.ingest.models import Donation
from fundboard.incentives.models import Run
run = Run.objects.get(title="Zelda any%")
qs = Donation.objects.counted().filter(donated_at__gte=run.started_at, donated_at__lt=run.ended_at)
print(f"{qs.aggregate(t=Sum('amount'))['t']:.2f}")
"""


def by_title(snapshot: dict, title: str) -> dict:
    return next(i for i in snapshot["incentives"] if i["title"] == title)


def options(snapshot: dict, title: str) -> dict:
    return {o["title"]: o["total"] for o in by_title(snapshot, title)["options"]}


def serve(fundboard_server, sandbox_server):
    server = start(fundboard_server, sandbox_server)
    server.load(campaign_toml(sandbox_server.url) + MARATHON)
    return server, StaffSession(server, create_user(server, "mia", "Moderators"))


def option_id(snapshot: dict, incentive: str, title: str) -> str:
    item = by_title(snapshot, incentive)
    option = next(o for o in item["options"] if o["title"] == title)
    return f"{item['id']}:{option['id']}"


def donation_id(snapshot: dict, name: str) -> int:
    return next(d["id"] for d in snapshot["recent"] if d["name"] == name)


def run_action(staff, snapshot: dict, action: str) -> None:
    run = snapshot["schedule"]["runs"][0]["id"]
    answer = staff.post(
        f"/dashboard/live/incentives/runs/{run}", {"action": action}, json_answer=False
    )
    assert answer.status_code == 302


def test_tags_allocate_doubts_queue_splits_and_refunds_release(fundboard_server, sandbox_server):
    server, staff = serve(fundboard_server, sandbox_server)
    with server.live_client("live", "events=0") as viewer:
        viewer.receive()
        gifts = [
            donation("Ann", "25.00", message="Go #Zelda go"),
            donation("Bob", "10.00", message="#zleda!"),  # misspelt: queued
            donation("Cat", "30.00", message="half to zelda, half to link"),  # queued
            donation("Dan", "12.00", message="#link #link"),  # one tag twice: exact
        ]
        ids = control(sandbox_server, "donations", gifts)["ids"]
        wait_for(lambda: server.total("live") == "77.00")
        snapshot = server.snapshot("live")
        assert options(snapshot, "Name the hero") == {
            "Zelda": "25.00", "Link": "12.00", "Ganon": "0.00"
        }  # fmt: skip
        # The viewer's socket carried the allocation with the donations' own version.
        viewer.wait_for(
            lambda m: (
                m["type"] == "snapshot" and options(m["data"], "Name the hero")["Link"] == "12.00"
            )
        )
        queued = server.shell(
            "from fundboard.incentives.models import Review\n"
            "print(sorted(r.donation.display_name for r in Review.objects.filter(state='pending')))"
        )
        assert queued.strip().splitlines()[-1] == "['Bob', 'Cat']"
        split = {
            "action": "split",
            "target_1": option_id(snapshot, "Name the hero", "Zelda"),
            "amount_1": "15",
            "target_2": option_id(snapshot, "Name the hero", "Link"),
            "amount_2": "15",
        }
        url = f"/dashboard/live/incentives/donations/{donation_id(snapshot, 'Cat')}"
        assert staff.post(url, split, json_answer=False).status_code == 302
        viewer.wait_for(
            lambda m: m["type"] == "snapshot"
            and options(m["data"], "Name the hero") == {
                "Zelda": "40.00", "Link": "27.00", "Ganon": "0.00"
            }
        )  # fmt: skip
        control(sandbox_server, "delete", {"_id": ids[3]})  # Dan's gift is refunded
        wait_for(lambda: options(server.snapshot("live"), "Name the hero")["Link"] == "15.00")
    assert server.total("live") == "65.00"


def test_runs_stretch_chain_closing_and_top_n(fundboard_server, sandbox_server):
    server, staff = serve(fundboard_server, sandbox_server)
    control(sandbox_server, "donations", donation("Early", "5.00", message="#blindfold"))
    wait_for(lambda: server.total("live") == "5.00")
    assert by_title(server.snapshot("live"), "Blindfold")["total"] == "0.00"  # not open yet
    run_action(staff, server.snapshot("live"), "start")
    run_gifts = [
        donation("A", "30.00", message="#stretch"),
        donation("B", "25.00", message="#stretch #stretch"),
        donation("C", "40.00", message="#blindfold"),
        donation("D", "9.00", message="#ganon"),
        donation("E", "7.00", message="#link"),
        donation("F", "3.00", message="#zelda"),
    ]
    control(sandbox_server, "donations", run_gifts)
    wait_for(lambda: server.total("live") == "119.00")
    run_action(staff, server.snapshot("live"), "stop")
    control(sandbox_server, "donations", donation("Late", "11.00", message="#blindfold"))
    wait_for(lambda: server.total("live") == "130.00")
    snapshot = server.snapshot("live")
    blind = by_title(snapshot, "Blindfold")
    assert (blind["state"], blind["total"]) == ("closed", "40.00")  # closed with its run
    chain = by_title(snapshot, "Extra runs")
    assert chain["total"] == "55.00" and chain["winners"] == [chain["options"][0]["id"]]
    run = snapshot["schedule"]["runs"][0]
    assert run["total"] == server.shell(WINDOW_SUM).strip().splitlines()[-1] == "114.00"
    # The bid war closes: the top two win, and a late tag is queued, not counted.
    hero = by_title(server.snapshot("live"), "Name the hero")
    closed = staff.post(f"/dashboard/live/incentives/{hero['id']}/close", json_answer=False)
    assert closed.status_code == 302
    control(sandbox_server, "donations", donation("G", "50.00", message="#zelda"))
    wait_for(lambda: server.total("live") == "180.00")
    hero = by_title(server.snapshot("live"), "Name the hero")
    ids = {o["title"]: o["id"] for o in hero["options"]}
    assert hero["winners"] == [ids["Ganon"], ids["Link"]]
    assert options(server.snapshot("live"), "Name the hero")["Zelda"] == "3.00"
    assert json.dumps(server.snapshot("live")).count("incentives") == 1
