""" "Send a test to me": the draft goes once to the signed-in person's own phone, through the normal path."""

from app.models import User
from app.usage import segments_used
from tests.integration.inbox.conftest import run_high_queue, simulator  # noqa: F401 - the fixture

MY_PHONE = "+17735550111"


def test_a_phone_on_the_account_page_is_stored_in_e164(client, login_as, db):
    user = login_as("owner")
    r = client.post("/account/profile", data={"name": "Pastor Ade", "phone": "(773) 555-0111"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.phone_e164 == MY_PHONE
    bad = client.post("/account/profile", data={"name": "Pastor Ade", "phone": "12345"})
    assert bad.status_code == 422 and "wrong number of digits" in bad.get_data(as_text=True)
    too_long = client.post("/account/profile", data={"name": "Pastor Ade", "phone": "1" * 41})
    assert too_long.status_code == 422
    client.post("/account/profile", data={"name": "Pastor Ade", "phone": ""})
    db.session.refresh(user)
    assert user.phone_e164 is None


def test_send_a_test_to_me_texts_my_phone_and_counts(client, login_as, compose, db, church, simulator):  # noqa: F811
    user = login_as("owner")
    user.name = "Ade Bankole"
    user.phone_e164 = MY_PHONE
    db.session.commit()
    before = segments_used(church.id)
    page = client.get("/broadcasts/new").get_data(as_text=True)
    assert "Send a test to me" in page
    r = client.post("/broadcasts/new/test", data=compose(body="Hi {first_name|friend}, from {church_name}"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Test sent to (773) 555-0111" in html
    assert "Hi {first_name|friend}, from {church_name}" in html  # the draft is kept
    run_high_queue()
    [sent] = simulator.messages(to=MY_PHONE)
    assert sent["text"] == f"Hi Ade, from {church.name}"
    assert segments_used(church.id) == before + 1


def test_without_a_phone_the_composer_points_to_the_account_page(client, login_as, compose, db):
    user = login_as("owner")
    assert db.session.get(User, user.id).phone_e164 is None
    page = client.get("/broadcasts/new").get_data(as_text=True)
    assert "Add your number to send yourself a test" in page
    r = client.post("/broadcasts/new/test", data=compose())
    assert r.status_code == 422 and "Add your mobile number" in r.get_data(as_text=True)


def test_test_sends_are_rate_limited(app, client, login_as, compose, db, simulator):  # noqa: F811
    user = login_as("owner")
    user.phone_e164 = MY_PHONE
    db.session.commit()
    codes = [client.post("/broadcasts/new/test", data=compose()).status_code for _ in range(6)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
