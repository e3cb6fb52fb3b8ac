"""Buying a sending number: search the provider's offer, order one, and it sends for the church."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.models import AuditLog, PhoneNumber
from app.settings import buying


def _offered(html: str) -> list[str]:
    return re.findall(r'name="phone_number" value="(\+1\d{10})"', html)


def test_search_by_area_code_then_order_adds_the_number(client, login_as, db, church, sim):
    login_as("owner")
    page = client.get("/settings/numbers/buy?kind=local&area_code=773")
    assert page.status_code == 200
    offered = _offered(page.get_data(as_text=True))
    assert offered and all(n.startswith("+1773") for n in offered)
    pick = next(n for n in offered if not n.endswith("99"))
    answer = client.post("/settings/numbers/buy", data={"phone_number": pick, "kind": "local"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/settings/branches")
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == pick))
    assert number.church_id == church.id and number.number_type == "long_code"
    assert number.messaging_profile_id  # assigned to the account's messaging profile
    assert pick in client.get("/settings/branches").get_data(as_text=True)
    bought = db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "number.bought"))
    assert bought["order"] == "success" and bought["number"].startswith("+1773")  # masked, as every number is
    # Bought, so no longer offered to anyone.
    again = _offered(client.get("/settings/numbers/buy?kind=local&area_code=773").get_data(as_text=True))
    assert pick not in again


def test_toll_free_search_offers_toll_free_numbers(client, login_as, sim):
    login_as("owner")
    html = client.get("/settings/numbers/buy?kind=toll_free").get_data(as_text=True)
    offered = _offered(html)
    assert offered and all(n.startswith("+1833") for n in offered)
    assert "Toll-free" in html


@pytest.mark.parametrize(
    "area_code, message",
    [("", "Enter the 3-digit area code"), ("12", "An area code has 3 digits"), ("0123", "An area code has 3 digits")],
)
def test_a_bad_area_code_is_explained_by_the_field_and_kept(client, login_as, sim, area_code, message):
    login_as("owner")
    page = client.get(f"/settings/numbers/buy?kind=local&area_code={area_code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and message in html
    assert f'value="{area_code}"' in html or not area_code


def test_numbers_some_church_uses_are_never_offered(client, login_as, db, church, sim):
    login_as("owner")
    mine = db.session.scalar(select(PhoneNumber.e164).where(PhoneNumber.church_id == church.id).limit(1))
    area = mine[2:5]
    assert mine not in _offered(client.get(f"/settings/numbers/buy?kind=local&area_code={area}").get_data(as_text=True))
    # And ordering one anyway (a stale page) is refused without asking the provider.
    answer = client.post("/settings/numbers/buy", data={"phone_number": mine, "kind": "local"}, follow_redirects=True)
    assert buying.NOT_OFFERED in answer.get_data(as_text=True).replace("&#39;", "'")


def test_a_pending_order_is_added_when_the_provider_completes_it(client, login_as, db, church, sim, app):
    login_as("owner")
    pending = "+18725550199"  # the simulator completes orders for numbers ending in 99 a little later
    answer = client.post(
        "/settings/numbers/buy", data={"phone_number": pending, "kind": "local"}, follow_redirects=True
    )
    assert "still activating it" in answer.get_data(as_text=True)
    assert db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == pending)) is None
    job = _queued_job(app, "app.settings.buying.finish")
    assert job.retries_left and job.args[0] == church.id
    with pytest.raises(buying.OrderPending):
        buying.finish(*job.args)  # the provider still says pending: RQ asks again later
    buying.finish(*job.args)
    db.session.expire_all()
    assert db.session.scalar(select(PhoneNumber.church_id).where(PhoneNumber.e164 == pending)) == church.id


def test_a_church_holds_a_bounded_number_of_numbers(client, login_as, db, church, sim):
    login_as("owner")
    held = db.session.scalar(select(func.count()).where(PhoneNumber.church_id == church.id))
    for i in range(buying.MAX_NUMBERS - held):
        db.session.add(PhoneNumber(church_id=church.id, e164=f"+1312555018{i}"))
    db.session.commit()
    offered = _offered(client.get("/settings/numbers/buy?kind=toll_free").get_data(as_text=True))
    answer = client.post(
        "/settings/numbers/buy", data={"phone_number": offered[0], "kind": "toll_free"}, follow_redirects=True
    )
    assert buying.TOO_MANY in answer.get_data(as_text=True)
    assert db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == offered[0])) is None


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_only_the_owner_buys_numbers(client, login_as, sim, role):
    login_as(role)
    assert client.get("/settings/numbers/buy?kind=toll_free").status_code == 403
    assert (
        client.post("/settings/numbers/buy", data={"phone_number": "+18335550101", "kind": "toll_free"}).status_code
        == 403
    )


def _queued_job(app, func_name: str):
    from app.extensions import rds

    jobs = [j for j in rds.queue("default").get_jobs() if j.func_name == func_name]
    assert jobs, f"no {func_name} job queued"
    return jobs[-1]
