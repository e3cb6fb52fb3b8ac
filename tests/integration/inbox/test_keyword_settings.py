"""Settings → Join keywords: owners add, edit and delete them; reserved words are refused."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Group, Keyword


def _youth(db, church):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))


def test_owner_adds_a_join_keyword(client, db, church, login_as):
    login_as("owner")
    youth = _youth(db, church)
    response = client.post(
        "/settings/keywords", data={"word": " join  youth ", "group_id": str(youth.id), "auto_reply": "Welcome!"}
    )
    assert response.status_code == 302
    keyword = db.session.scalar(select(Keyword).where(Keyword.church_id == church.id))
    assert (keyword.word, keyword.group_id, keyword.auto_reply) == ("JOIN YOUTH", youth.id, "Welcome!")
    html = client.get("/settings/keywords").get_data(as_text=True)
    assert "JOIN YOUTH" in html and "Youth" in html


def test_reserved_and_duplicate_words_are_refused(client, db, church, login_as):
    login_as("owner")
    response = client.post("/settings/keywords", data={"word": "stop", "group_id": ""})
    assert response.status_code == 422 and "reserved" in response.get_data(as_text=True)
    db.session.add(Keyword(church_id=church.id, word="PRAY"))
    db.session.commit()
    response = client.post("/settings/keywords", data={"word": "pray", "group_id": ""})
    assert response.status_code == 422 and "already a keyword" in response.get_data(as_text=True)


def test_a_misspelled_merge_field_is_refused_by_the_auto_reply(client, db, church, login_as):
    login_as("owner")
    response = client.post("/settings/keywords", data={"word": "PRAY", "group_id": "", "auto_reply": "Hi {firstname}!"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "{firstname} is not a merge field" in html and "Hi {firstname}!" in html
    assert db.session.scalar(select(Keyword).where(Keyword.church_id == church.id)) is None


def test_edit_and_delete(client, db, church, login_as):
    login_as("owner")
    keyword = Keyword(church_id=church.id, word="SERVE", auto_reply="Thanks")
    db.session.add(keyword)
    db.session.commit()
    assert client.get(f"/settings/keywords/{keyword.id}").status_code == 200
    response = client.post(
        f"/settings/keywords/{keyword.id}", data={"word": "SERVE", "group_id": "", "auto_reply": "Thank you"}
    )
    assert response.status_code == 302
    db.session.refresh(keyword)
    assert keyword.auto_reply == "Thank you"
    assert client.post(f"/settings/keywords/{keyword.id}/delete").status_code == 302
    assert db.session.get(Keyword, keyword.id) is None


def test_group_from_another_church_is_refused(client, db, church, other_church, login_as):
    login_as("owner")
    hope_group = db.session.scalar(select(Group).where(Group.church_id == other_church.id))
    response = client.post("/settings/keywords", data={"word": "JOIN PRAYER", "group_id": str(hope_group.id)})
    assert response.status_code in (404, 422)
    assert db.session.scalar(select(Keyword).where(Keyword.church_id == church.id)) is None


def test_admins_and_leaders_cannot_manage_keywords(client, db, login_as):
    login_as("leader")
    assert client.get("/settings/keywords").status_code == 403


def test_settings_index_links_to_join_keywords_for_owners(client, db, login_as):
    login_as("owner")
    assert 'href="/settings/keywords"' in client.get("/settings").get_data(as_text=True)


def test_settings_index_has_no_keyword_link_for_admins(client, db, church, login_as):
    from tests.factories import UserFactory

    UserFactory(church_id=church.id, role="admin", email="second-admin@example.org")
    login_as("second-admin@example.org")
    assert 'href="/settings/keywords"' not in client.get("/settings").get_data(as_text=True)
