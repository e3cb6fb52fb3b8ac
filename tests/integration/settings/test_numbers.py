"""Sending numbers: normalised, one per branch, and only numbers the provider account holds."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Branch, PhoneNumber
from app.settings.services import ALREADY_YOURS, NOT_YOURS, UNCHECKED

HOPE_NUMBER = "+13125550200"  # Hope Chapel's, and on the simulator's account
NOT_HELD = "+13125559876"  # outside the simulator account's numbers


def _branch(db, church, name):
    return db.session.scalar(select(Branch).where(Branch.church_id == church.id, Branch.name == name))


def _error(response) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    return next(m for m in (NOT_YOURS, ALREADY_YOURS, UNCHECKED) if m in html.replace("&#39;", "'"))


def test_branch_number_is_normalised_unique_and_one_per_branch(client, login_as, db, church, sim):
    login_as("owner")
    downtown = _branch(db, church, "Downtown")
    data = {"e164": "(312) 555-0177", "number_type": "long_code", "branch_id": downtown.id}
    assert client.post("/settings/numbers/new", data=data).status_code == 302
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == "+13125550177"))
    assert number.branch_id == downtown.id and number.church_id == church.id
    bad = client.post("/settings/numbers/new", data={**data, "e164": "12"})
    assert bad.status_code == 422 and "wrong number of digits" in bad.get_data(as_text=True)
    short = client.post("/settings/numbers/new", data={"e164": "1234", "number_type": "short_code", "branch_id": 0})
    assert "5 or 6 digits" in short.get_data(as_text=True)
    # A second number for the same branch takes over; the first becomes church-wide.
    client.post("/settings/numbers/new", data={**data, "e164": "(312) 555-0178"})
    db.session.expire_all()
    assert db.session.get(PhoneNumber, number.id).branch_id is None
    client.post(f"/settings/numbers/{number.id}/delete")
    assert db.session.get(PhoneNumber, number.id) is None


def test_a_number_off_the_account_is_refused(client, login_as, db, sim):
    login_as("owner")
    response = client.post("/settings/numbers/new", data={"e164": NOT_HELD, "number_type": "long_code"})
    assert _error(response) == NOT_YOURS
    assert db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == NOT_HELD)) is None


def test_another_churchs_number_gets_the_same_answer_as_one_off_the_account(client, login_as, db, church, sim):
    login_as("owner")
    theirs = client.post("/settings/numbers/new", data={"e164": HOPE_NUMBER, "number_type": "long_code"})
    nobodys = client.post("/settings/numbers/new", data={"e164": NOT_HELD, "number_type": "long_code"})
    assert _error(theirs) == _error(nobodys) == NOT_YOURS
    assert theirs.get_data(as_text=True).replace(HOPE_NUMBER, "") == nobodys.get_data(as_text=True).replace(
        NOT_HELD, ""
    )
    assert db.session.scalar(select(PhoneNumber.church_id).where(PhoneNumber.e164 == HOPE_NUMBER)) != church.id


def test_own_number_again_says_it_is_already_yours(client, login_as, sim):
    login_as("owner")
    response = client.post("/settings/numbers/new", data={"e164": "+13125550100", "number_type": "long_code"})
    assert _error(response) == ALREADY_YOURS


def test_provider_down_refuses_new_numbers_but_edits_need_no_check(app, client, login_as, db, church, monkeypatch):
    monkeypatch.setitem(app.config, "TELNYX_API_BASE", "http://127.0.0.1:9/v2")  # nothing listens there
    monkeypatch.setitem(app.config, "TELNYX_TIMEOUT", 1.0)
    login_as("owner")
    response = client.post("/settings/numbers/new", data={"e164": "+13125550150", "number_type": "long_code"})
    assert _error(response) == UNCHECKED
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.church_id == church.id))
    downtown = _branch(db, church, "Downtown")
    edit = {"e164": number.e164, "number_type": "toll_free", "branch_id": downtown.id}
    assert client.post(f"/settings/numbers/{number.id}/edit", data=edit).status_code == 302
    db.session.expire_all()
    assert db.session.get(PhoneNumber, number.id).number_type == "toll_free"
