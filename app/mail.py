"""Outgoing mail: `send(to, template, **context)`, delivered over SMTP by an RQ job after the commit.

    from app import mail
    mail.send(user.email, "password_reset", name=user.display_name, link=mail.absolute_url(
        "accounts.reset_password", token=token))
    db.session.commit()          # the job is enqueued only now; a rollback sends nothing

A mail is two templates, `templates/mail/<template>.txt` and `templates/mail/<template>.html`
(which extends `mail/_layout.html`). The text template names the subject with a top-level
`{% set subject = "…" %}`. Both see the caller's context plus `base_url` (APP_BASE_URL) and
`url(endpoint, **values)`, which builds an absolute link: every link in a mail must be one,
since a mail is read far from the request that sent it.

Rendering happens in `send()`, so the job carries finished text (it needs no database rows
and never renders with another request's data). The job connects to SMTP_URL
(`smtp://[user:pass@]host:port`, `?starttls=1` to upgrade), retries after each interval of
MAIL_RETRY_INTERVALS, and after the last failure records a dead letter of kind `mail` that
names the address, the template and the subject, never the body: a body may hold a sign-in
link. Logs name the template and the masked address only.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from rq import Callback, Retry

from app.dead_letters import add_dead_letter
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.security.masking import mask_email

log = logging.getLogger(__name__)

QUEUE = "high"  # someone is waiting for a reset or verification link
SMTP_TIMEOUT = 20  # seconds for the connection and each command
MAX_ADDRESS = 320


class MailNotConfigured(RuntimeError):
    """SMTP_URL is not set: there is nowhere to send mail."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool


def smtp_settings(url: str | None) -> SmtpSettings:
    """SMTP_URL split into what smtplib needs (config.py has already validated its shape)."""
    if not url:
        raise MailNotConfigured("SMTP_URL is not set: set it to smtp://[user:pass@]host:port to send mail")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return SmtpSettings(
        host=parts.hostname or "localhost",
        port=parts.port or 25,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=query.get("starttls", ["0"])[0] == "1",
    )


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link to `endpoint` under APP_BASE_URL; works in requests, jobs and the CLI."""
    path = current_app.url_map.bind("koinonia.invalid").build(endpoint, values)
    return current_app.config["APP_BASE_URL"] + path


def render(template: str, **context: Any) -> dict[str, str]:
    """The subject, text and HTML of templates/mail/<template>.{txt,html} with `context`."""
    env = current_app.jinja_env
    context = {"base_url": current_app.config["APP_BASE_URL"], "url": absolute_url, **context}
    text_module = env.get_template(f"mail/{template}.txt").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"mail/{template}.txt sets no subject")
    html = env.get_template(f"mail/{template}.html").render(subject=subject, **context)
    return {"subject": subject, "text": str(text_module).strip() + "\n", "html": html}


def send(to: str, template: str, *, church_id: int | None = None, **context: Any) -> None:
    """Render a mail now and send it from a job once the current transaction commits.

    `church_id` names the church the mail is about, whose admins then see it in /ops if it
    cannot be sent; mail about no church yet (a sign-up) leaves it out.
    """
    _, address = parseaddr(to)
    if not address or "@" not in address or len(address) > MAX_ADDRESS:
        raise ValueError("not an email address")
    message = {"to": to, "template": template, "church_id": church_id, **render(template, **context)}
    intervals = list(current_app.config["MAIL_RETRY_INTERVALS"])
    enqueue_after_commit(
        QUEUE,
        "app.mail.deliver",
        message,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        on_failure=Callback("app.mail.on_failure"),
        result_ttl=0,
        failure_ttl=86400,  # the failed-job registry holds the body: keep it a day, not a week
    )


def build_message(message: dict[str, str], sender: str) -> EmailMessage:
    """The MIME message: plain text first, HTML as the alternative."""
    msg = EmailMessage()
    msg["Subject"] = message["subject"]
    msg["From"] = sender
    msg["To"] = message["to"]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=(parseaddr(sender)[1].rpartition("@")[2] or None))
    msg.set_content(message["text"])
    msg.add_alternative(message["html"], subtype="html")
    return msg


def deliver(message: dict[str, str]) -> None:
    """RQ job: hand one rendered mail to the SMTP server (raises to be retried)."""
    settings = smtp_settings(current_app.config.get("SMTP_URL"))
    msg = build_message(message, current_app.config["MAIL_FROM"])
    with smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(msg)
    log.info("mail sent", extra={"template": message.get("template"), "to": mask_email(message["to"])})


def on_failure(job, connection, exc_type, exc_value, tb) -> None:
    """RQ failure callback: when the last attempt has failed, keep the mail as a dead letter."""
    message = job.args[0] if job.args else {}
    log.warning(
        "mail not sent",
        extra={"template": message.get("template"), "to": mask_email(message.get("to")), "error": str(exc_value)},
    )
    if job.retries_left:
        return
    try:
        db.session.rollback()
        add_dead_letter(
            "mail",
            {"to": message.get("to"), "template": message.get("template"), "subject": message.get("subject")},
            f"{getattr(exc_type, '__name__', exc_type)}: {exc_value}",
            church_id=message.get("church_id"),
            attempts=len(current_app.config["MAIL_RETRY_INTERVALS"]) + 1,
        )
        db.session.commit()
    except Exception:  # noqa: BLE001 - the failed job registry still has it
        log.exception("could not record a dead letter for mail job %s", job.id)
