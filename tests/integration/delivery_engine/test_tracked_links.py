"""Tracked links end to end: codes written with the recipients, short links in the texts the
simulator receives, the public redirect, clicks counted apart from previews, the broadcast page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.control import edit_scheduled
from app.extensions import rds
from app.links import clicks
from app.models import BroadcastRecipient, LinkCode, TrackedLink

LINK = "https://grace.example.org/Easter?x[]=1&y=%20"
BODY = f"Grace: Easter plans at {LINK} and grace.church/kids, {{first_name|friend}}!"


@pytest.fixture(autouse=True)
def empty_click_queue(app):
    rds.client.delete(clicks.KEY)
    yield
    rds.client.delete(clicks.KEY)


def codes_of(db, broadcast):
    return db.session.execute(
        select(LinkCode.code, LinkCode.recipient_id, TrackedLink.position)
        .join(TrackedLink, TrackedLink.id == LinkCode.link_id)
        .where(TrackedLink.broadcast_id == broadcast.id)
    ).all()


def test_each_recipient_gets_a_code_per_link_and_texts_carry_them(db, app, church, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body=BODY, track_links=True)
    assert broadcast.track_links
    links = db.session.scalars(
        select(TrackedLink.url).where(TrackedLink.broadcast_id == broadcast.id).order_by(TrackedLink.position)
    ).all()
    assert links == [LINK, "https://grace.church/kids"]
    rows = codes_of(db, broadcast)
    assert len(rows) == 5 * 2 and len({code for code, _, _ in rows}) == 10
    assert all(len(code) == 8 and code.isalnum() for code, _, _ in rows)

    assert "sent=5" in tasks.send_batch(broadcast.id)
    base = app.config["APP_BASE_URL"].rstrip("/")
    by_phone = {m["to"]: m["text"] for m in sim.messages()}
    recipients = {
        r.id: r
        for r in db.session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id))
    }
    for code, recipient_id, _position in rows:
        text = by_phone[recipients[recipient_id].to_e164]
        assert f"{base}/l/{code}" in text
        assert LINK not in text and "grace.church/kids" not in text
    sample = next(iter(by_phone.values()))
    assert sample.startswith("Grace: Easter plans at " + base + "/l/") and sample.endswith("!")
    assert "Ann" in sample  # merge fields still filled


def test_segments_are_counted_with_the_short_link(db, church, small_group, send_to):
    long_body = "Grace: " + "https://grace.example.org/" + "a" * 150
    plain = send_to(AudienceSpec(group_ids=[small_group.id]), body=long_body)
    tracked = send_to(AudienceSpec(group_ids=[small_group.id]), body=long_body, track_links=True)
    assert plain.segments_per_message == 2 and tracked.segments_per_message == 1


def test_no_link_means_no_tracking(db, church, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body="Grace: no links here", track_links=True)
    assert not broadcast.track_links and codes_of(db, broadcast) == []


def test_the_redirect_goes_exactly_to_the_link_and_counts_people_apart(db, client, church, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body=BODY, track_links=True)
    rows = sorted(codes_of(db, broadcast), key=lambda r: (r[1], r[2]))
    first, second = rows[0][0], rows[2][0]  # two recipients' codes for the first link
    phone = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}
    preview = {"User-Agent": "Mozilla/5.0 (Macintosh) facebookexternalhit/1.1 Facebot Twitterbot/1.0"}

    for headers in (phone, preview, {"User-Agent": "curl/8.5"}, {"User-Agent": ""}):
        r = client.get(f"/l/{first}", headers=headers)
        assert r.status_code == 302 and r.headers["Location"] == LINK
        assert r.headers["Cache-Control"] == "no-store"
    assert client.head(f"/l/{first}", headers=phone).headers["Location"] == LINK
    assert client.get(f"/l/{first}", headers=phone).status_code == 302
    assert client.get(f"/l/{second}", headers=phone).status_code == 302
    assert client.get("/l/zzzzzzzz").status_code == 404
    assert client.get("/l/bad-code").status_code == 404
    assert client.get(f"/l/{first}x").status_code == 404

    assert clicks.drain() == 8  # the unknown code's line too, matched by no row
    db.session.expire_all()
    one = db.session.get(LinkCode, first)
    assert (one.clicks, one.bot_clicks) == (2, 4)
    assert one.first_clicked_at is not None and one.last_clicked_at >= one.first_clicked_at
    assert db.session.get(LinkCode, second).clicks == 1
    assert clicks.drain() == 0


def test_the_broadcast_page_shows_clicks_and_unique_clickers(db, client, login_as, church, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body=BODY, track_links=True)
    rows = sorted(codes_of(db, broadcast), key=lambda r: (r[1], r[2]))
    person = {"User-Agent": "Mozilla/5.0 (Android 14) Mobile"}
    for code in (rows[0][0], rows[0][0], rows[2][0], rows[4][0]):  # three people, one twice, link 1
        client.get(f"/l/{code}", headers=person)
    client.get(f"/l/{rows[1][0]}", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    clicks.drain()
    login_as("owner")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert 'id="link-clicks"' in page
    table = page[page.index('id="link-clicks"') :]
    first_row = table[table.index(LINK.replace("&", "&amp;")) :].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in first_row.split('class="num">')[1:]] == ["4", "3", "0"]
    second_row = table[table.index("https://grace.church/kids") :].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in second_row.split('class="num">')[1:]] == ["0", "0", "1"]


def test_another_church_never_sees_the_clicks(db, client, login_as, church, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body=BODY, track_links=True)
    login_as("hope")
    assert client.get(f"/broadcasts/{broadcast.id}").status_code == 404


def test_an_edit_writes_the_links_and_codes_again(db, church, owner, small_group, send_to):
    later = datetime.now(UTC) + timedelta(days=2)
    spec = AudienceSpec(group_ids=[small_group.id])
    broadcast = send_to(spec, body=BODY, track_links=True, scheduled_at=later)
    before = {code for code, _, _ in codes_of(db, broadcast)}

    def edit(body: str, **kw):
        edit_scheduled(broadcast, owner, title=None, body=body, media_urls=[], spec=spec, scheduled_at=later, **kw)

    edit("Grace: only https://grace.example.org/new now")
    after = codes_of(db, broadcast)
    assert len(after) == 5 and not before & {code for code, _, _ in after}
    urls = db.session.scalars(select(TrackedLink.url).where(TrackedLink.broadcast_id == broadcast.id)).all()
    assert urls == ["https://grace.example.org/new"]
    edit("Grace: plain", track_links=False)
    assert not broadcast.track_links
    left = select(func.count()).select_from(TrackedLink).where(TrackedLink.broadcast_id == broadcast.id)
    assert db.session.scalar(left) == 0


def test_a_client_over_the_limit_is_refused_and_not_counted(db, app, client, church, small_group, send_to, monkeypatch):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]), body=BODY, track_links=True)
    code = codes_of(db, broadcast)[0][0]
    monkeypatch.setitem(app.config, "LINK_RATE_LIMIT", "3 per minute")
    person = {"User-Agent": "Mozilla/5.0 (Android 14) Mobile"}
    answers = [client.get(f"/l/{code}", headers=person).status_code for _ in range(5)]
    assert answers == [302, 302, 302, 429, 429]
    assert clicks.drain() == 3
