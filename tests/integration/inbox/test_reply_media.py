"""Pictures with replies and new texts: checked uploads kept under MEDIA_ROOT, sent as MMS from a
signed URL the provider can fetch, links taken as they are, the counter showing the MMS price."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from app.inbox.inbound import handle_received
from tests.integration.inbox.conftest import conversation_of, messages_of, run_high_queue, telnyx_payload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def media_root(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_ROOT", str(tmp_path))
    return tmp_path


def _conversation(db, church, phone="+17735550190"):
    handle_received(telnyx_payload(phone, text="Can you send the map?"), None)
    db.session.commit()
    return conversation_of(db, church, phone)


def test_an_uploaded_picture_goes_as_mms_from_a_signed_url(client, db, church, login_as, simulator, media_root):
    login_as("owner")
    conv = _conversation(db, church)
    data = {"body": "Here it is", "picture": (io.BytesIO(PNG), "map.png", "image/png")}
    response = client.post(f"/inbox/{conv.id}/reply", data=data, headers=HX, content_type="multipart/form-data")
    assert response.status_code == 200
    reply = messages_of(db, conv)[-1]
    [item] = reply.media
    assert item["content_type"] == "image/png" and item["size"] == len(PNG) and "url" not in item
    assert (media_root / item["stored"]).read_bytes() == PNG
    run_high_queue()
    [sent] = simulator.messages(to="+17735550190")
    assert sent["type"] == "MMS" and sent["text"] == "Here it is"
    url = sent["media_urls"][0]
    fetched = client.get(urlsplit(url).path)
    assert fetched.status_code == 200 and fetched.data == PNG and fetched.mimetype == "image/png"
    # The thread shows the picture through a signed URL as well.
    thread = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert 'class="thumb" src="http' in thread and "/media/" in thread


def test_a_tampered_or_expired_token_is_not_found(client, db, church, login_as, app, monkeypatch):
    login_as("owner")
    conv = _conversation(db, church)
    data = {"picture": (io.BytesIO(PNG), "map.png")}
    client.post(f"/inbox/{conv.id}/reply", data=data, headers=HX, content_type="multipart/form-data")
    from app.media import signed_url

    path = urlsplit(signed_url(messages_of(db, conv)[-1].media[0]["stored"])).path
    assert client.get(path).status_code == 200
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    assert client.get("/media/not-a-token").status_code == 404
    monkeypatch.setitem(app.config, "MEDIA_URL_SECONDS", -1)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF8 not really" + b"x" * 20, "Attach a JPEG, PNG or GIF picture."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Attach a JPEG, PNG or GIF picture."),
        (b"\xff\xd8\xff" + b"\x00" * (1024 * 1024), "at most 1,024 KB"),
    ],
)
def test_other_files_and_big_pictures_are_refused(client, db, church, login_as, media_root, content, message):
    login_as("owner")
    conv = _conversation(db, church)
    data = {"body": "x", "picture": (io.BytesIO(content), "map.png", "image/png")}
    response = client.post(f"/inbox/{conv.id}/reply", data=data, headers=HX, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert [m.direction for m in messages_of(db, conv)] == ["in"]
    assert not any(media_root.rglob("*.*"))


def test_a_picture_link_must_be_https_and_is_sent_as_given(client, db, church, login_as, simulator):
    login_as("owner")
    conv = _conversation(db, church)
    bad = client.post(f"/inbox/{conv.id}/reply", data={"body": "x", "media_url": "http://x.org/a.png"}, headers=HX)
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    link = "https://grace.example.org/map.png"
    assert client.post(f"/inbox/{conv.id}/reply", data={"media_url": link}, headers=HX).status_code == 200
    run_high_queue()
    [sent] = simulator.messages(to="+17735550190")
    assert sent["media_urls"] == [link] and sent["type"] == "MMS"


def test_the_counter_shows_the_mms_price_once_a_picture_is_chosen(client, login_as):
    login_as("owner")
    sms = client.post("/inbox/segments", data={"body": "Hello"}, headers=HX).get_data(as_text=True)
    assert "1 segment" in sms and "MMS" not in sms
    mms = client.post(
        "/inbox/segments", data={"body": "Hello", "media_url": "https://x.org/a.png"}, headers=HX
    ).get_data(as_text=True)
    assert "MMS · $0.015 per text" in mms


def test_a_new_text_can_carry_a_picture(client, db, church, login_as, media_root):
    from tests.factories import MemberFactory

    login_as("owner")
    member = MemberFactory(church_id=church.id, first_name="Pia", phone_e164="+17735550322")
    db.session.flush()
    page = client.get(f"/inbox/new?member_id={member.id}").get_data(as_text=True)
    assert 'name="picture"' in page and 'enctype="multipart/form-data"' in page
    data = {"member_id": str(member.id), "body": "", "picture": (io.BytesIO(PNG), "a.png")}
    response = client.post("/inbox/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    from sqlalchemy import select

    from app.models import Conversation

    conv = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    [message] = messages_of(db, conv)
    assert message.body == "" and message.media[0]["content_type"] == "image/png"
    assert conv.last_message_preview == "[Picture]"
