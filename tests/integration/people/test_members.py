"""Members: the list, search, filters, keyset pages, CRUD, validation and consent."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.models import ConsentEvent, Group, GroupMember, Member

HX = {"HX-Request": "true"}


def _group(db, church, name="Youth"):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == name))


def test_list_page_and_fragment(client, login_as):
    login_as("owner")
    page = client.get("/members")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and 'id="member-results"' in html
    assert re.search(r"\d+ members", html)
    fragment = client.get("/members?q=grace", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert 'id="member-results"' in body and "Grace" in body
    assert 'hx-get="/members/count?q=grace"' in body  # the count loads lazily after a keystroke


def test_search_by_phone_in_any_format(client, login_as, db, church):
    login_as("owner")
    member = Member(church_id=church.id, first_name="Phoebe", last_name="Quist", phone_e164="+13125550142")
    db.session.add(member)
    db.session.flush()
    for q in ("0142", "(312) 555-0142", "+1 312 555 0142", "312.555.0142", "phoebe", "QUIST"):
        body = client.get("/members", query_string={"q": q}, headers=HX).get_data(as_text=True)
        assert "Phoebe Quist" in body, q
    assert f'<a href="/members/{member.id}">Phoebe Quist</a>' in body  # the row links to the member
    body = client.get("/members", query_string={"q": "9999"}, headers=HX).get_data(as_text=True)
    assert "Phoebe Quist" not in body


def test_short_words_match_the_start_of_any_word_of_the_name(login_as, db, church):
    from sqlalchemy import literal_column, or_

    from app.people.queries import MemberFilters
    from app.people.services import list_members

    owner = login_as("owner")
    names = [("Mary Lane", "Zedd"), ("Zoe", "De La Cruz"), ("Lacey", "Zimm"), ("", "Lamb"), ("Al", "Zorn")]
    names += [("L", "Zuck"), ("Paul", "Zeal La"), ("Zara", "Villa"), ("ZEKE", "LAWSON"), ("Olga", "Zlaty")]
    for i, (first, last) in enumerate(names):
        db.session.add(Member(church_id=church.id, first_name=first, last_name=last, phone_e164=f"+1773555{7700 + i}"))
    db.session.flush()
    name = Member.first_name.op("||")(literal_column("' '")).op("||")(Member.last_name)
    for q in ("la", "LA", "l", "z", "ze", "an", "cr"):
        expected = set(
            db.session.scalars(
                select(Member.id).where(
                    Member.church_id == church.id, or_(name.ilike(f"{q.lower()}%"), name.ilike(f"% {q.lower()}%"))
                )
            )
        )
        found = {row.member.id for row in list_members(owner, MemberFilters(q=q), limit=500, with_total=False).rows}
        assert found == expected, q
    found = {row.member.first_name for row in list_members(owner, MemberFilters(q="la"), with_total=False).rows}
    assert {"Mary Lane", "Zoe", "Lacey", "", "Paul", "ZEKE"} <= found and "Olga" not in found


def test_filters_group_branch_status(client, login_as, db, church):
    login_as("owner")
    youth = _group(db, church)
    in_youth = set(db.session.scalars(select(GroupMember.member_id).where(GroupMember.group_id == youth.id)))
    body = client.get(f"/members?group={youth.id}", headers=HX).get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'href="/members/(\d+)"', body)}
    assert shown and shown <= in_youth
    body = client.get("/members?status=opted_out", headers=HX).get_data(as_text=True)
    assert "badge-optout" in body and "badge-success" not in body
    body = client.get("/members?status=subscribed", headers=HX).get_data(as_text=True)
    assert "badge-optout" not in body


def test_keyset_pages_cover_everyone_once(client, login_as, db, church):
    login_as("owner")
    total = db.session.scalar(select(Member.id).where(Member.church_id == church.id).limit(1)) and len(
        db.session.scalars(select(Member.id).where(Member.church_id == church.id)).all()
    )
    seen: list[int] = []
    html = client.get("/members").get_data(as_text=True)
    for _ in range(10):
        seen += [int(i) for i in re.findall(r'<td><a href="/members/(\d+)"', html)]
        nxt = re.search(r'rel="next" href="([^"]+)"|href="([^"]+)" rel="next"', html)
        scroll = re.search(r'hx-get="(/members\?[^"]*after=[^"]+)" hx-trigger="revealed"', html)
        if not scroll:
            break
        html = client.get(scroll.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
        assert "<html" not in html and "<tr" in html
        assert nxt or True
    assert len(seen) == len(set(seen)) == total


def test_previous_link_without_js(client, login_as):
    login_as("owner")
    html = client.get("/members").get_data(as_text=True)
    nxt = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    page2 = client.get(nxt).get_data(as_text=True)
    first_of_page2 = re.search(r'<td><a href="/members/(\d+)"', page2).group(1)
    prev = re.search(r'<a href="([^"]+)" rel="prev">', page2).group(1).replace("&amp;", "&")
    page1 = client.get(prev).get_data(as_text=True)
    ids1 = re.findall(r'<td><a href="/members/(\d+)"', page1)
    assert ids1 == re.findall(r'<td><a href="/members/(\d+)"', html)
    assert first_of_page2 not in ids1


def test_sorting_newest_first(client, login_as, db, church):
    login_as("owner")
    newest = Member(church_id=church.id, first_name="Zed", last_name="Newest", phone_e164="+13125559871")
    db.session.add(newest)
    db.session.flush()
    body = client.get("/members?sort=newest", headers=HX).get_data(as_text=True)
    assert re.search(r'<td><a href="/members/(\d+)"', body).group(1) == str(newest.id)


def test_unknown_texters_sort_after_every_name_and_page_cleanly(client, login_as, db, church):
    login_as("owner")
    unknown = [Member(church_id=church.id, phone_e164=f"+1312555{9900 + i}", is_unknown=True) for i in range(3)]
    named = Member(church_id=church.id, first_name="Aaron", last_name="Aardvark", phone_e164="+13125559899")
    db.session.add_all([*unknown, named])
    db.session.flush()
    unknown_ids = {str(m.id) for m in unknown}

    def walk(sort):
        seen, url = [], f"/members?sort={sort}"
        while url:
            body = client.get(url, headers=HX).get_data(as_text=True)
            seen += re.findall(r'<td><a href="/members/(\d+)"', body)
            nxt = re.search(r'<a href="([^"]+)" rel="next"', body)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
        return seen

    ascending = walk("name")
    assert ascending[0] == str(named.id)  # the first page opens on names, not on "Unknown"
    assert set(ascending[-3:]) == unknown_ids
    assert len(ascending) == len(set(ascending))  # keyset paging across the boundary loses nothing
    descending = walk("-name")
    assert set(descending[:3]) == unknown_ids and descending[-1] == str(named.id)
    assert sorted(descending) == sorted(ascending)


def test_create_member_normalises_phone_and_records_consent(client, login_as, db, church):
    user = login_as("owner")
    youth = _group(db, church)
    response = client.post(
        "/members/new",
        data={
            "first_name": "Nia",
            "last_name": "Okoro",
            "phone": "(312) 555-0142",
            "email": "nia@example.org",
            "branch_id": "0",
            "group_ids": [str(youth.id)],
            "language": "en",
        },
    )
    assert response.status_code == 302
    member = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.first_name == "Nia"))
    assert member.phone_e164 == "+13125550142"
    assert member.consent_source == "form"
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.member_id == member.id))
    assert (event.action, event.source, event.user_id) == ("opt_in", "form", user.id)
    page = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "Youth" in page and "Opted in" in page and "(312) 555-0142" in page


def test_invalid_inputs_show_messages_by_the_fields(client, login_as):
    login_as("owner")
    response = client.post(
        "/members/new",
        data={"first_name": "", "phone": "12", "email": "not-an-email", "language": "en", "branch_id": "0"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="first_name-error"' in html and "Enter a first name." in html
    assert 'id="phone-error"' in html and "wrong number of digits" in html
    assert 'id="email-error"' in html and "Enter an email address" in html
    assert 'value="not-an-email"' in html  # what was typed is kept


def test_duplicate_phone_links_to_the_owner(client, login_as, db, church):
    login_as("owner")
    owner = db.session.scalar(select(Member).where(Member.church_id == church.id).order_by(Member.id))
    response = client.post(
        "/members/new",
        data={"first_name": "Dup", "phone": owner.phone_e164, "language": "en", "branch_id": "0"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'already belongs to <a href="/members/{owner.id}">{owner.full_name}</a>' in html


def test_same_phone_in_another_church_is_fine(client, login_as, db, other_church):
    login_as("owner")
    hope_member = db.session.scalar(select(Member).where(Member.church_id == other_church.id))
    response = client.post(
        "/members/new", data={"first_name": "Twin", "phone": hope_member.phone_e164, "language": "en", "branch_id": "0"}
    )
    assert response.status_code == 302


def test_inline_phone_validation_uses_the_form(client, login_as, db, church):
    login_as("owner")
    bad = client.post("/members/validate-phone", data={"phone": "555"}, headers=HX)
    assert bad.status_code == 422
    assert 'id="phone-field"' in bad.get_data(as_text=True) and "phone-error" in bad.get_data(as_text=True)
    good = client.post("/members/validate-phone", data={"phone": "312 555 0177"}, headers=HX)
    assert good.status_code == 200
    assert "Will be saved as (312) 555-0177" in good.get_data(as_text=True)
    owner = db.session.scalar(select(Member).where(Member.church_id == church.id).order_by(Member.id))
    taken = client.post("/members/validate-phone", data={"phone": owner.phone_e164}, headers=HX)
    assert "already belongs to" in taken.get_data(as_text=True)
    # Editing a member: their own number is not a duplicate.
    mine = client.post(f"/members/{owner.id}/validate-phone", data={"phone": owner.phone_e164}, headers=HX)
    assert mine.status_code == 200


def test_edit_member_cannot_opt_back_in(client, login_as, db, church):
    login_as("owner")
    member = db.session.scalar(
        select(Member).where(Member.church_id == church.id, Member.opted_out_at.is_not(None)).limit(1)
    )
    page = client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    assert "Only they can opt back in, by texting START" in page
    assert "opted_out" not in page.split("<form", 1)[1].split("</form>")[0].replace("opted out", "")
    response = client.post(
        f"/members/{member.id}/edit",
        data={"first_name": "Renamed", "phone": member.phone_e164, "language": "en", "branch_id": "0", "opted_out": ""},
    )
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.first_name == "Renamed" and member.opted_out_at is not None
    assert "texting START" in client.get(f"/members/{member.id}").get_data(as_text=True)


def test_delete_member_asks_first(client, login_as, db, church):
    login_as("owner")
    member = Member(church_id=church.id, first_name="Gone", phone_e164="+13125559870")
    db.session.add(member)
    db.session.flush()
    assert "Delete Gone?" in client.get(f"/members/{member.id}/delete").get_data(as_text=True)
    assert client.post(f"/members/{member.id}/delete").status_code == 302
    assert db.session.get(Member, member.id) is None


def test_member_page_shows_conversation_link(client, login_as, db, church):
    from app.models import Conversation

    login_as("owner")
    conv = db.session.scalar(select(Conversation).where(Conversation.church_id == church.id).limit(1))
    html = client.get(f"/members/{conv.member_id}").get_data(as_text=True)
    assert f'href="/inbox/{conv.id}"' in html


def test_an_over_long_phone_or_email_is_refused_before_it_is_parsed(client, login_as):
    login_as("owner")
    long_phone = "3" * 10_000
    r = client.post("/members/validate-phone", data={"phone": long_phone}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "At most 40 characters." in html and "is not a phone number" not in html
    data = {"first_name": "Long", "phone": "312 555 0188", "email": "a" * 400 + "@example.org", "language": "en"}
    r = client.post("/members/new", data={**data, "branch_id": "0"})
    assert r.status_code == 422 and "At most 320 characters." in r.get_data(as_text=True)


def test_a_nul_character_in_a_form_or_query_is_a_400_not_a_500(client, login_as, db, church):
    login_as("owner")  # PostgreSQL text cannot hold NUL: saving one failed the flush
    member = {"first_name": "Ni\x00a", "last_name": "Nulbyte", "phone": "(312) 555-0143", "branch_id": "0"}
    assert client.post("/members/new", data=member).status_code == 400
    assert client.post("/groups/new", data={"name": "Youth\x00"}).status_code == 400
    assert client.get("/members", query_string={"q": "a\x00"}).status_code == 400
    assert client.post("/members/new", data={"x\x00": "1"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.last_name == "Nulbyte")) == 0
