"""Member list pages reuse one built statement per shape, and each request gets its own values."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from app.models import Branch, Group, GroupMember, Member
from app.people.keyset import Walk, page_query
from app.people.page_shapes import PageStatement, page_statement
from app.people.queries import ListValues, MemberFilters
from app.people.services import list_members


@pytest.fixture
def people(db, church):
    """Two of everything a filter can tell apart: names, phones, groups and branches."""
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    choir = Group(church_id=church.id, name="Shape Choir")
    north, south = Branch(church_id=church.id, name="Shape North"), Branch(church_id=church.id, name="Shape South")
    db.session.add_all([choir, north, south])
    db.session.flush()
    made = {}
    for i, (first, last, group, branch) in enumerate(
        [("Quincy", "Zarkov", youth, north), ("Ulla", "Yarrow", choir, south), ("Quentin", "Yarrow", choir, north)]
    ):
        member = Member(
            church_id=church.id,
            first_name=first,
            last_name=last,
            phone_e164=f"+1773555{8800 + i}",
            email=f"{first.lower()}@shapes.example",
            branch_id=branch.id,
        )
        db.session.add(member)
        db.session.flush()
        db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=member.id))
        made[first] = member
    db.session.flush()
    return {"youth": youth, "choir": choir, "north": north, "south": south, **made}


def _names(result) -> set[str]:
    return {f"{row.member.first_name} {row.member.last_name}" for row in result.rows}


@pytest.mark.parametrize(
    ("first", "second", "expect_first", "expect_second"),
    [
        ({"q": "zarkov"}, {"q": "yarrow"}, {"Quincy Zarkov"}, {"Ulla Yarrow", "Quentin Yarrow"}),
        ({"q": "qu zar"}, {"q": "ul yar"}, {"Quincy Zarkov"}, {"Ulla Yarrow"}),
        ({"q": "5558800"}, {"q": "5558801"}, {"Quincy Zarkov"}, {"Ulla Yarrow"}),
        ({"q": "(773) 555-8800"}, {"q": "(773) 555-8802"}, {"Quincy Zarkov"}, {"Quentin Yarrow"}),
        ({"q": "yarrow", "branch": "north"}, {"q": "yarrow", "branch": "south"}, {"Quentin Yarrow"}, {"Ulla Yarrow"}),
        ({"q": "shapes", "group": "youth"}, {"q": "shapes", "group": "choir"}, {"Quincy Zarkov"}, None),
    ],
)
def test_same_shape_other_values(login_as, people, first, second, expect_first, expect_second):
    owner = login_as("owner")

    def filters(args):
        ids = {k: str(people[v].id) if k in ("group", "branch") else v for k, v in args.items()}
        return MemberFilters.from_args(ids)

    page_statement.cache_clear()
    assert _names(list_members(owner, filters(first), with_total=False)) == expect_first
    # Built once: every value in the statement is a named parameter, so the shape is kept...
    assert page_statement.cache_info().currsize == 1
    second_result = list_members(owner, filters(second), with_total=False)
    # ...and reused with the second request's values, not the first's.
    assert page_statement.cache_info().currsize == 1
    assert _names(second_result) == (expect_second or {"Ulla Yarrow", "Quentin Yarrow"})


def test_pages_of_one_search_follow_their_own_cursor(login_as, db, church, people):
    owner = login_as("owner")
    for i in range(7):
        db.session.add(
            Member(church_id=church.id, first_name=f"Pat{i}", last_name="Yarrow", phone_e164=f"+17735559{i:03d}")
        )
    db.session.flush()
    page_statement.cache_clear()
    seen, after = [], None
    while True:
        page = list_members(owner, MemberFilters(q="yarrow"), after=after, limit=3, with_total=False)
        seen += [row.member.first_name for row in page.rows]
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert seen == ["Pat0", "Pat1", "Pat2", "Pat3", "Pat4", "Pat5", "Pat6", "Quentin", "Ulla"]
    # The first page and the pages after a cursor: two shapes, whatever the cursor's values.
    assert page_statement.cache_info().currsize == 2


def test_leader_and_group_page_searches_are_kept_by_shape_too(login_as, people):
    leader = login_as("leader")
    page_statement.cache_clear()
    # The demo leader leads Youth: Quincy is in it, the Yarrows are not.
    assert _names(list_members(leader, MemberFilters(q="zarkov"), with_total=False)) == {"Quincy Zarkov"}
    assert _names(list_members(leader, MemberFilters(q="yarrow"), with_total=False)) == set()
    owner = login_as("owner")
    # The group page's "add members" search: everyone not yet in this group.
    outside = list_members(owner, MemberFilters(q="yarrow"), not_in_group_id=people["choir"].id, with_total=False)
    assert _names(outside) == set()
    outside = list_members(owner, MemberFilters(q="yarrow"), not_in_group_id=people["youth"].id, with_total=False)
    assert _names(outside) == {"Ulla Yarrow", "Quentin Yarrow"}
    assert page_statement.cache_info().currsize == 2


def test_a_shape_built_for_one_church_serves_another_only_its_own(login_as, db, other_church, people):
    owner = login_as("owner")
    page_statement.cache_clear()
    assert _names(list_members(owner, MemberFilters(q="yarrow"), with_total=False)) == {"Ulla Yarrow", "Quentin Yarrow"}
    db.session.add(Member(church_id=other_church.id, first_name="Hope", last_name="Yarrow", phone_e164="+17735558899"))
    db.session.flush()
    hope = login_as("hope")
    assert _names(list_members(hope, MemberFilters(q="yarrow"), with_total=False)) == {"Hope Yarrow"}
    assert page_statement.cache_info().currsize == 1


def test_no_parameter_of_a_condition_can_point_a_page_at_another_church(db, church, other_church, people):
    db.session.add(Member(church_id=other_church.id, first_name="Hope", last_name="Yarrow", phone_e164="+17735558899"))
    db.session.flush()
    # A condition whose parameter takes the church's name (page_statement never names one so, but
    # if one ever did) and is given the other church's id as its value: the page stays the tenant's.
    church_id = bindparam("church_id")
    rogue = ListValues(group_id=church_id)
    statement = page_query(Walk("name"), [Member.church_id == rogue.group_id], church_id, 51)
    page = PageStatement(statement, church_id, (), rogue)
    params = page.params(ListValues(group_id=other_church.id), None, church.id)
    rows = db.session.execute(statement, params).all()
    assert rows and {row.Member.church_id for row in rows} == {church.id}
