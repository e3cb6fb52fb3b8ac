"""Settings → Connect card: owners and admins choose what the card asks; the QR code prints."""

from __future__ import annotations

from app.connect.services import card_of


def _form(groups, **fields) -> dict:
    data = {
        "enabled": "y",
        "intro": "Welcome!",
        "question_0": "How did you hear about us?",
        "question_1": "  Any prayer requests?  ",
        "groups": [str(groups[0].id)],
        "frequency": "Up to 6 msgs/month",
        "origins": "https://www.grace.example/\nhttps://grace.example:8443",
    }
    data.update(fields)
    return data


def test_an_admin_opens_and_shapes_the_card(client, db, church, groups, login_as):
    login_as("owner")
    page = client.get("/settings/connect-card")
    assert page.status_code == 200 and "/c/grace-community-church" in page.get_data(as_text=True)
    response = client.post("/settings/connect-card", data=_form(groups))
    assert response.status_code == 302
    card = card_of(church.id)
    assert card.enabled and card.questions == ["How did you hear about us?", "Any prayer requests?"]
    assert card.group_ids == [groups[0].id] and card.frequency == "Up to 6 msgs/month"
    assert card.allowed_origins == ["https://www.grace.example", "https://grace.example:8443"]
    html = client.get("/c/grace-community-church").get_data(as_text=True)
    assert "Any prayer requests?" in html and "Up to 6 msgs/month" in html


def test_bad_values_stand_by_their_fields_with_422(client, db, church, groups, login_as):
    login_as("owner")
    data = _form(
        groups,
        frequency="whenever",
        question_2="x" * 121,
        origins="javascript:alert(1)",
    )
    response = client.post("/settings/connect-card", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="frequency-error">Carriers ask for a number' in html
    assert 'id="question_2-error">At most 120 characters.' in html
    assert 'id="origins-error">' in html and "not a site address" in html
    assert 'value="whenever"' in html
    assert card_of(church.id) is None


def test_too_many_sites_are_refused(client, db, groups, login_as):
    login_as("owner")
    origins = "\n".join(f"https://s{i}.example" for i in range(6))
    assert client.post("/settings/connect-card", data=_form(groups, origins=origins)).status_code == 422


def test_another_churchs_groups_cannot_be_offered(client, db, church, other_church, login_as):
    from app.models import Group

    theirs = Group(church_id=other_church.id, name="Hope only")
    db.session.add(theirs)
    db.session.flush()
    login_as("owner")
    response = client.post("/settings/connect-card", data=_form([theirs]))
    assert response.status_code == 422 and card_of(church.id) is None


def test_leaders_may_not_change_the_card(client, db, groups, login_as):
    login_as("leader")
    assert client.get("/settings/connect-card").status_code == 403
    assert client.post("/settings/connect-card", data=_form(groups)).status_code == 403
    assert client.get("/settings/connect-card/print").status_code == 403


def test_the_print_page_shows_the_qr_code(client, db, login_as):
    login_as("owner")
    html = client.get("/settings/connect-card/print").get_data(as_text=True)
    assert 'src="/c/grace-community-church/qr.svg"' in html
