"""A group's page: what an empty group says, and texting the group from it."""

import re

from sqlalchemy import select

from app.models import Group


def _group(db, church, name):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == name))


def test_a_new_empty_group_says_it_has_no_members_yet(client, login_as, db, church):
    login_as("owner")
    empty = Group(church_id=church.id, name="Greeters")
    db.session.add(empty)
    db.session.flush()
    html = client.get(f"/groups/{empty.id}").get_data(as_text=True)
    assert "No members in this group yet" in html
    assert "Try fewer letters" not in html


def test_a_search_in_a_group_that_finds_nobody_still_says_so(client, login_as, db, church):
    login_as("owner")
    youth = _group(db, church, "Youth")
    html = client.get(f"/groups/{youth.id}?q=zzzzqqq").get_data(as_text=True)
    assert "No members match" in html


def test_text_this_group_opens_the_composer_with_the_group_chosen(client, login_as, db, church):
    login_as("owner")
    youth = _group(db, church, "Youth")
    page = client.get(f"/groups/{youth.id}").get_data(as_text=True)
    assert f'href="/broadcasts/new?group_id={youth.id}"' in page and "Text this group" in page
    composer = client.get(f"/broadcasts/new?group_id={youth.id}").get_data(as_text=True)
    tag = re.search(rf'<input[^>]*name="group_ids"[^>]*value="{youth.id}"[^>]*>', composer).group(0)
    assert "checked" in tag


def test_another_churchs_group_is_not_chosen(client, login_as, db, other_church):
    login_as("owner")
    theirs = db.session.scalar(select(Group).where(Group.church_id == other_church.id).limit(1))
    if theirs is None:
        theirs = Group(church_id=other_church.id, name="Theirs")
        db.session.add(theirs)
        db.session.flush()
    composer = client.get(f"/broadcasts/new?group_id={theirs.id}").get_data(as_text=True)
    assert f'value="{theirs.id}"' not in composer
