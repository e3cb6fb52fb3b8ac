"""Custom fields in broadcasts: audience filters (counter == recipients == texts sent) and merge fields."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import merge
from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec, FieldFilter, audience_counts
from app.models import Broadcast, BroadcastRecipient, Member
from app.people import custom_fields as cf
from tests.factories import MemberFactory
from tests.integration.delivery_engine.conftest import no_quiet_hours, owner, send_to, sim  # noqa: F401


def _this_month(church) -> int:
    return datetime.now(UTC).astimezone(ZoneInfo(church.timezone)).month


def _people(db, church, fields):
    """Six new members: North/South, birthdays this month or not, one North opted out, one without values."""
    month = _this_month(church)
    other = month % 12 + 1
    rows = [
        ("Nora", "North", date(1980, month, 1)),
        ("Ned", "North", date(2001, month, 28 if month == 2 else 30)),
        ("Sam", "South", date(1975, month, 15)),
        ("Sue", "South", date(1990, other, 15)),
        ("Olive", "North", date(1985, month, 3)),  # opted out
        ("Vic", None, None),
    ]
    made = {}
    for i, (name, campus, birthday) in enumerate(rows):
        member = MemberFactory(church_id=church.id, first_name=name, phone_e164=f"+1773777{i:04d}")
        values = {fields["campus"].id: campus, fields["birthday"].id: birthday}
        cf.write_values(church.id, member.id, values, cf.church_fields(church.id))
        made[name] = member
    made["Olive"].opted_out_at = datetime.now(UTC)
    db.session.flush()
    return made


def _sent_names(db, broadcast):
    return set(
        db.session.scalars(
            select(Member.first_name)
            .join(BroadcastRecipient, BroadcastRecipient.member_id == Member.id)
            .where(BroadcastRecipient.broadcast_id == broadcast.id)
        )
    )


def test_choice_filter_counts_what_is_sent_and_merges_the_value(db, church, fields, sim, send_to):  # noqa: F811
    _people(db, church, fields)
    spec = AudienceSpec(everyone=True, filters=[FieldFilter(fields["campus"].id, "is", "North")])
    counts = audience_counts(church.id, spec)
    assert (counts.matched, counts.recipients, counts.opted_out) == (3, 2, 1)
    broadcast = send_to(spec, body="Hi {first_name}, {campus|our} campus news. {shirt|No shirt}.")
    assert broadcast.recipient_count == counts.recipients
    assert _sent_names(db, broadcast) == {"Nora", "Ned"}
    tasks.send_batch(broadcast.id)
    texts = sorted(m["text"] for m in sim.messages())
    assert texts == ["Hi Ned, North campus news. No shirt.", "Hi Nora, North campus news. No shirt."]


def test_birthday_this_month_ignores_the_year_and_spares_the_opted_out(db, church, fields, send_to):  # noqa: F811
    _people(db, church, fields)
    spec = AudienceSpec(everyone=True, filters=[FieldFilter(fields["birthday"].id, "this_month")])
    counts = audience_counts(church.id, spec)
    broadcast = send_to(spec)
    assert _sent_names(db, broadcast) == {"Nora", "Ned", "Sam"}
    assert counts.recipients == broadcast.recipient_count == 3 and counts.opted_out == 1
    both = AudienceSpec(
        everyone=True,
        filters=[FieldFilter(fields["birthday"].id, "this_month"), FieldFilter(fields["campus"].id, "is", "South")],
    )
    assert audience_counts(church.id, both).recipients == 1


def test_the_composer_offers_the_filters_and_counts_with_them(client, login_as, db, church, fields):
    _people(db, church, fields)
    login_as("owner")
    page = client.get("/broadcasts/new").get_data(as_text=True)
    north = f"{fields['campus'].id}:is:North"
    assert f'value="{north}"' in page and "Campus is North" in page and "Birthday in this month" in page
    assert 'data-insert="{campus}"' in page  # offered as a merge field too
    data = {"body": "Hi", "everyone": "y", "field_filters": [north], "when": "now", "repeat_freq": "weekly"}
    r = client.post("/broadcasts/new/audience", data=data, headers={"HX-Request": "true"})
    assert '<strong class="num">2</strong> recipients' in r.get_data(as_text=True)
    confirm = client.post("/broadcasts/confirm", data={**data, "idempotency_key": "cf-1"}).get_data(as_text=True)
    assert "only where Campus is North" in confirm
    assert client.post("/broadcasts", data={**data, "idempotency_key": "cf-1"}).status_code == 302
    broadcast = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "cf-1"))
    assert _sent_names(db, broadcast) == {"Ned", "Nora"}


def test_another_churchs_field_never_filters_or_merges(client, login_as, db, church, other_church, fields):
    _people(db, church, fields)
    theirs = cf.create_field(other_church.id, name="Campus", key="site", type="choice", choices=["North"])
    db.session.flush()
    # At the SQL level a foreign field id matches nobody...
    spec = AudienceSpec(everyone=True, filters=[FieldFilter(theirs.id, "is", "North")])
    assert audience_counts(church.id, spec).matched == 0
    # ...and the composer drops it (only the church's own options are accepted).
    login_as("owner")
    data = {"body": "Hi {site|x}", "everyone": "y", "field_filters": [f"{theirs.id}:is:North"], "when": "now"}
    html = client.post("/broadcasts/new/audience", data=data, headers={"HX-Request": "true"}).get_data(as_text=True)
    everyone = audience_counts(church.id, AudienceSpec(everyone=True)).recipients
    assert f'<strong class="num">{everyone:,}</strong>' in html
    assert cf.merge_fields(church.id).keys == ("campus", "birthday", "shirt", "kids")


def test_merge_rendering_with_custom_fields():
    keys = ("campus", "kids")
    body = "Hi {first_name|friend} at {campus|our church}! {kids} kids. {unknown|x} {church_name}"
    values = merge.values_for(None, None, {"campus": "North"})
    assert merge.render_values(body, values, keys) == "Hi friend at North!  kids. {unknown|x} "
    assert merge.unknown_fields(body, keys) == ["unknown"]
    assert merge.check_fields("{campus}", keys) is None
    assert "{campus} is not a merge field" in merge.check_fields("{campus}")
    assert merge.estimate("{campus}", None, {"campus": "Downtown East"}) == "Downtown East"
    assert merge.placeholders("{campus}", "Grace", {"campus": "[campus]"}) == "[campus]"


def test_the_segment_estimate_uses_a_typical_value(db, church, fields):
    estimates = cf.merge_fields(church.id).estimates
    assert estimates["campus"] == "North" and estimates["birthday"] == "2024-03-14"
    body = "{campus}" + "x" * 155
    assert len(merge.estimate(body, church, estimates)) == 160
