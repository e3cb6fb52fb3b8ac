"""Numbers as the church writes them, and people known only by their number."""

from app.models import Member
from app.people.phones import format_national, unknown_name


def test_numbers_are_national_in_the_churchs_own_country():
    assert format_national("+13125550142", "US") == "(312) 555-0142"
    assert format_national("+447911123456", "GB") == "07911 123456"
    # Another country's number keeps its calling code.
    assert format_national("+13125550142", "GB") == "+1 312-555-0142"
    assert format_national("+447911123456", "US") == "+44 7911 123456"


def test_a_member_who_only_texted_in_shows_as_unknown_with_their_number(client, login_as, db, church):
    login_as("owner")
    stranger = Member(church_id=church.id, first_name="", last_name="", phone_e164="+16305550142")
    db.session.add(stranger)
    db.session.flush()
    assert unknown_name("+16305550142") == "Unknown · (630) 555-0142"
    html = client.get("/members?q=6305550142").get_data(as_text=True)
    assert "Unknown · (630) 555-0142" in html
    page = client.get(f"/members/{stranger.id}").get_data(as_text=True)
    assert "Unknown · (630) 555-0142" in page


def test_a_uk_church_sees_uk_numbers_in_national_format(client, login_as, db, church):
    church.country = "GB"
    member = Member(church_id=church.id, first_name="Ada", last_name="Lovelace", phone_e164="+447911123456")
    db.session.add(member)
    db.session.flush()
    login_as("owner")
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "07911 123456" in html
