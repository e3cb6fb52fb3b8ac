"""Bulk actions on every member matching the list, beyond the loaded page: by filter, bounded, one church."""

from sqlalchemy import func, select

from app.models import Group, GroupMember, Member
from app.people import services
from tests.integration.people.test_bulk_and_roles import _members

HX = {"HX-Request": "true"}


def _people(db, church, n, first="Matchy", base=7000):
    return _members(db, church, n, prefix=first, base=base)


def _group_size(db, group):
    return db.session.scalar(select(func.count()).where(GroupMember.group_id == group.id))


def test_add_every_matching_member_to_a_group_beyond_the_first_page(client, login_as, db, church):
    login_as("owner")
    people = _people(db, church, 120)  # more than a page of the list
    choir = Group(church_id=church.id, name="Choir")
    db.session.add(choir)
    db.session.flush()
    page = client.get("/members?q=Matchy").get_data(as_text=True)
    assert 'name="scope" value="matching"' in page and '<input type="hidden" name="q" value="Matchy">' in page
    r = client.post(
        "/members/bulk",
        data={"action": "add_to_group", "group_id": choir.id, "scope": "matching", "q": "Matchy", "next": "/members"},
    )
    assert r.status_code == 302
    assert _group_size(db, choir) == len(people)


def test_matching_delete_asks_first_then_deletes_only_the_matches(client, login_as, db, church):
    login_as("owner")
    _people(db, church, 30, first="Gone")
    keep = _people(db, church, 1, first="Kept", base=7500)[0]
    confirm = client.post("/members/bulk", data={"action": "delete", "scope": "matching", "q": "Gone"})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete 30 members?" in html and "and 10 more" in html
    assert 'name="scope" value="matching"' in html
    client.post("/members/bulk", data={"action": "delete", "confirm": "yes", "scope": "matching", "q": "Gone"})
    left = db.session.scalar(select(func.count()).where(Member.church_id == church.id, Member.first_name.like("Gone%")))
    assert left == 0 and db.session.get(Member, keep.id) is not None


def test_matching_never_reaches_another_church(db, church, other_church):
    from app.auth.services import find_user_by_email
    from app.people.queries import MemberFilters

    ours = _people(db, church, 2)
    theirs = Member(church_id=other_church.id, first_name="Matchy", last_name="Elsewhere", phone_e164="+17735559999")
    db.session.add(theirs)
    db.session.flush()
    owner = find_user_by_email("admin@example.org")
    ids = list(db.session.scalars(services.bulk_selection(owner, matching=MemberFilters(q="Matchy"))))
    assert theirs.id not in ids and {m.id for m in ours} <= set(ids)


def test_matching_is_bounded(db, church, monkeypatch):
    from app.auth.services import find_user_by_email
    from app.errors import ValidationError
    from app.people.queries import MemberFilters

    _people(db, church, 5)
    monkeypatch.setattr(services, "MAX_MATCHING", 3)
    owner = find_user_by_email("admin@example.org")
    try:
        services.bulk_selection(owner, matching=MemberFilters(q="Matchy"))
    except ValidationError as err:
        assert "narrow the list" in err.message
    else:
        raise AssertionError("a selection past the bound must be refused")
