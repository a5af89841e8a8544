"""The staff Rates page: held donations per currency, setting a rate, re-rating (audited);
Organisers only (issue 15)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from fundboard.fx.models import RateChange
from fundboard.ingest.services import ingest_donations
from fundboard.live.snapshot import build_snapshot

from .factories import make_campaign, make_source, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain(settings):
    settings.AXES_ENABLED = False  # force_login has no client address


def signed_in(username: str, group: str) -> Client:
    user = User.objects.create_user(username, password="Staff-pw-4711", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, url: str, data: dict | None = None):
    client.get("/dashboard/drive/rates/")
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


def test_an_organiser_sees_held_donations_sets_a_rate_and_converts_them():
    campaign = make_campaign()
    ingest_donations(make_source(campaign).pk, [record("200", currency="CAD", uid="c1")])
    olive = signed_in("olive", "Organisers")
    page = olive.get("/dashboard/drive/rates/")
    assert page.status_code == 200
    held = page.content.decode()
    assert 'data-currency="CAD"' in held and "200.00 CAD" in held and "add a rate first" in held
    assert post(olive, "/dashboard/drive/rates/set", {"currency": "cad", "rate": "0.7321"})
    assert build_snapshot("drive")["total"] == "0.00"  # held until re-rated
    response = post(olive, "/dashboard/drive/rates/CAD/rerate")
    assert response.status_code == 302
    assert build_snapshot("drive")["total"] == "146.42"
    assert (
        "None: every donation is counted" in olive.get("/dashboard/drive/rates/").content.decode()
    )
    assert list(RateChange.objects.values_list("username", "action", "currency")) == [
        ("olive", "rerate", "CAD"),
        ("olive", "set_rate", "CAD"),
    ]


def test_moderators_may_not_see_or_change_rates():
    make_campaign()
    mo = signed_in("mo", "Moderators")
    assert mo.get("/dashboard/drive/rates/").status_code == 403
    mo.get("/dashboard/drive/")
    token = mo.cookies["csrftoken"].value  # a valid token: the refusal is the permission
    response = mo.post(
        "/dashboard/drive/rates/set", {"currency": "EUR", "rate": "9", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 403
    assert not RateChange.objects.exists()
    assert Decimal("0") == Decimal(build_snapshot("drive")["total"])
