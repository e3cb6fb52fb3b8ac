"""Passkeys (WebAuthn): registering one, and checking one as a second factor or to sign in alone.

The relying party is APP_BASE_URL's host. Browsers refuse IP addresses as relying-party ids, so a
loopback address (the development default, http://127.0.0.1:8000) is served as `localhost`:
passkeys work in development when the app is opened at http://localhost:<port>.

Each ceremony's challenge lives in the session until the browser answers, and is taken out before
the answer is checked, so it serves one answer only.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app, session
from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.extensions import db
from app.models import Passkey, User

CEREMONY_KEY = "_webauthn"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
RP_NAME = "Koinonia"
NAME_MAX = 100


class PasskeyError(Exception):
    """The browser's answer could not be verified (or came without a ceremony to answer)."""


def relying_party() -> tuple[str, str]:
    """(RP ID, the one origin passkeys are accepted from), from APP_BASE_URL."""
    parts = urlsplit(current_app.config["APP_BASE_URL"])
    host = parts.hostname or "localhost"
    if host in LOOPBACK:
        host = "localhost"
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    return host, origin


def _begin(purpose: str, challenge: bytes, **extra: str) -> None:
    session[CEREMONY_KEY] = {"purpose": purpose, "challenge": bytes_to_base64url(challenge), **extra}


def _take(purpose: str) -> dict:
    ceremony = session.pop(CEREMONY_KEY, None)
    if not isinstance(ceremony, dict) or ceremony.get("purpose") != purpose:
        raise PasskeyError("Start again: the passkey request expired.")
    return ceremony


def registration_options(user: User, existing: list[Passkey]) -> str:
    """JSON options for navigator.credentials.create(): a discoverable credential for this user."""
    rp_id, _ = relying_party()
    # All of a user's passkeys carry one random handle, so a passkey names the account without an email.
    handle = existing[0].user_handle if existing else secrets.token_bytes(32)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_name=user.email,
        user_id=handle,
        user_display_name=user.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    _begin("register", options.challenge, handle=bytes_to_base64url(handle), user=str(user.id))
    return options_to_json(options)


def register(user: User, credential: dict, name: str) -> Passkey:
    """Verify the browser's new credential and store it as a passkey of `user`."""
    ceremony = _take("register")
    if ceremony.get("user") != str(user.id):
        raise PasskeyError("Start again: the passkey request expired.")
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(ceremony["challenge"]),
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure, KeyError, TypeError, ValueError) as err:
        raise PasskeyError("That passkey could not be verified. Try again.") from err
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)) is not None:
        raise PasskeyError("That passkey is already registered.")
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        church_id=user.church_id,
        user_id=user.id,
        name=name.strip()[:NAME_MAX] or "Passkey",
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        user_handle=base64url_to_bytes(ceremony["handle"]),
        transports=",".join(str(t) for t in transports if isinstance(t, str))[:200] or None,
    )
    db.session.add(passkey)
    db.session.flush()
    return passkey


def authentication_options(user: User | None) -> str:
    """JSON options for navigator.credentials.get(): `user`'s passkeys as a second factor, or any
    passkey of this site (the browser offers the ones it holds) to sign in without a password."""
    rp_id, _ = relying_party()
    allowed = []
    if user is not None:
        rows = db.session.scalars(select(Passkey).where(Passkey.user_id == user.id)).all()
        allowed = [PublicKeyCredentialDescriptor(id=p.credential_id) for p in rows]
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=allowed,
        # Alone, a passkey is both factors: the device must have checked it is its owner.
        user_verification=UserVerificationRequirement.PREFERRED if user else UserVerificationRequirement.REQUIRED,
    )
    _begin("authenticate", options.challenge, user="" if user is None else str(user.id))
    return options_to_json(options)


def authenticate(credential: dict, user: User | None) -> Passkey:
    """Verify the browser's assertion; answer the passkey (of `user` when given), or raise PasskeyError."""
    ceremony = _take("authenticate")
    if ceremony.get("user") != ("" if user is None else str(user.id)):
        raise PasskeyError("Start again: the passkey request expired.")
    rp_id, origin = relying_party()
    try:
        parsed = parse_authentication_credential_json(credential)
    except (InvalidJSONStructure, InvalidAuthenticationResponse, KeyError, TypeError, ValueError) as err:
        raise PasskeyError("That passkey could not be verified. Try again.") from err
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == parsed.raw_id))
    if passkey is None or (user is not None and passkey.user_id != user.id):
        raise PasskeyError("That passkey is not registered with Koinonia.")
    handle = parsed.response.user_handle
    if handle is not None and handle != passkey.user_handle:
        raise PasskeyError("That passkey is not registered with Koinonia.")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(ceremony["challenge"]),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user is None,
        )
    except (InvalidAuthenticationResponse, KeyError, TypeError, ValueError) as err:
        raise PasskeyError("That passkey could not be verified. Try again.") from err
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = datetime.now(UTC)
    return passkey
