"""Mail through a real SMTP server on loopback: rendered, sent after the commit, retried, dead-lettered."""

from __future__ import annotations

from sqlalchemy import select

from app import mail
from app.extensions import rds
from app.models import DeadLetter
from tests.conftest import deliver_mail


def _send_reset(db, to="someone@example.org", church_id=None):
    mail.send(
        to, "password_reset", church_id=church_id, name="Ruth", link=mail.absolute_url("auth.login", next="/tok123")
    )


def test_a_committed_mail_arrives_with_absolute_links(app, db, mailbox):
    _send_reset(db)
    db.session.commit()
    deliver_mail()

    [received] = mailbox.wait_for("someone@example.org")
    base = app.config["APP_BASE_URL"]
    assert received["subject"] == "Reset your Koinonia password"
    assert received["from"] == app.config["MAIL_FROM"]
    assert f"{base}/login?next=/tok123" in received["text"]
    assert f'href="{base}/login?next=/tok123"' in received["html"]
    assert 'href="/' not in received["html"]  # no relative link anywhere


def test_a_rolled_back_mail_is_never_sent(app, db, mailbox):
    _send_reset(db)
    db.session.rollback()
    assert rds.queue(mail.QUEUE).count == 0
    deliver_mail()
    assert mailbox.messages() == []


def test_a_refused_delivery_is_retried_until_it_goes_through(app, db, mailbox):
    mailbox.refuse_next(2)
    _send_reset(db)
    db.session.commit()
    deliver_mail()

    assert len(mailbox.wait_for("someone@example.org")) == 1
    assert mailbox.attempts == 3
    assert db.session.scalars(select(DeadLetter).where(DeadLetter.kind == "mail")).all() == []


def test_mail_that_cannot_be_sent_ends_as_a_dead_letter_without_its_body(app, db, mailbox, church):
    mailbox.refuse_next(10, "554 5.7.1 Relay denied")
    _send_reset(db, "nobody@example.org", church_id=church.id)
    db.session.commit()
    deliver_mail()

    assert mailbox.messages() == []
    assert mailbox.attempts == len(app.config["MAIL_RETRY_INTERVALS"]) + 1
    [letter] = db.session.scalars(select(DeadLetter).where(DeadLetter.kind == "mail")).all()
    assert letter.payload == {
        "to": "nobody@example.org",
        "template": "password_reset",
        "subject": "Reset your Koinonia password",
    }
    assert "tok123" not in str(letter.payload) and "Relay denied" in letter.error
    assert letter.church_id == church.id  # its admins see it in /ops


def test_smtp_down_is_retried_then_dead_lettered(app, db, mailbox):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # discard port: nothing listens
    _send_reset(db)
    db.session.commit()
    deliver_mail()

    [letter] = db.session.scalars(select(DeadLetter).where(DeadLetter.kind == "mail")).all()
    assert letter.attempts == len(app.config["MAIL_RETRY_INTERVALS"]) + 1
    assert letter.church_id is None


def test_the_sink_pages_show_mail_escaped_and_its_html_sandboxed():
    from app.delivery.simmail import MailSink

    sink = MailSink()
    raw = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: <script>alert(1)</script>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nOpen https://app.example/reset?a=1&b=2 now\r\n"
        b"--x\r\nContent-Type: text/html\r\n\r\n<html><head></head><body><a href='https://app.example'>go</a>"
        b"<script>alert(2)</script></body></html>\r\n--x--\r\n"
    )
    sink.keep(raw, "a@example.org", ["b@example.org"])
    status, _, listing, _ = sink.page("/mail")
    assert status == 200 and b"<script>alert(1)" not in listing and b"&lt;script&gt;" in listing
    _, _, shown, headers = sink.page("/mail/1")
    assert b'<a href="https://app.example/reset?a=1&amp;b=2">' in shown
    assert b'<iframe title="HTML body" sandbox=' in shown and b"alert(2)" not in shown
    _, _, body, headers = sink.page("/mail/1/html")
    assert dict(headers)["content-security-policy"].startswith("sandbox ")
    assert b'<head><base target="_top">' in body
    assert sink.page("/mail/2")[0] == 404 and sink.page("/elsewhere") is None


def test_a_churchs_admins_see_its_undelivered_mail_in_ops_without_a_replay_button(
    client, db, mailbox, church, login_as
):
    mailbox.refuse_next(10, "554 5.7.1 Relay denied")
    _send_reset(db, "admin@example.org", church_id=church.id)
    db.session.commit()
    deliver_mail()
    login_as("owner")
    html = client.get("/ops/dead-letters").get_data(as_text=True)
    assert "An email that could not be sent" in html and "Reset your Koinonia password" in html
    assert "Not re-sent" in html and ">Replay</button>" not in html
