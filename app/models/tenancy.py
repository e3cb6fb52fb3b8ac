"""Churches (tenants), their users, branches and sending numbers."""

from __future__ import annotations

from datetime import datetime, time

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, event, func, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

ROLES = ("owner", "admin", "leader")
NUMBER_TYPES = ("long_code", "toll_free", "short_code")


class Church(IdMixin, TimestampMixin, Base):
    __tablename__ = "churches"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    country: Mapped[str] = mapped_column(String(2), default="US", server_default="US")
    plan: Mapped[str] = mapped_column(String(32), default="starter", server_default="starter")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    quiet_hours_start: Mapped[time | None] = mapped_column(default=time(21, 0))
    quiet_hours_end: Mapped[time | None] = mapped_column(default=time(8, 0))
    sms_quota: Mapped[int | None] = mapped_column(comment="overrides the plan's monthly segments")
    help_text: Mapped[str | None] = mapped_column(Text)
    leaders_can_send: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Every user of the church must have two-factor on before they can do anything else.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Set once every onboarding step is done (or at once for churches set up by an operator).
    onboarded_at: Mapped[datetime | None]


class User(IdMixin, TimestampMixin, TenantMixin, UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(status_check("role", ROLES), name="role"),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    # The staff member's own mobile (E.164), where the composer's "send a test to me" goes.
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_login_at: Mapped[datetime | None]
    email_verified_at: Mapped[datetime | None]
    # Every session and remember-me cookie carries the version it was signed in at; moving it
    # (sign-out, a new role or password, deactivation) ends all of them. See end_sessions().
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set while the user has a confirmed authenticator app or a passkey (app.auth.two_factor):
    # read on every page of a church that requires two-factor, so it lives on the cached row.
    two_factor_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    church: Mapped[Church] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """ "<id>:<version>": what login_user stores first; app.auth.sessions then adds the session's key."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Sign this user out everywhere at the next commit (atomic: two sign-outs both count)."""
        self.session_version = User.session_version + 1

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_owner(self) -> bool:
        """The church's owner: billing, join keywords, and all an admin may do."""
        return self.role == "owner"

    @property
    def is_admin(self) -> bool:
        """An owner or admin: manages the whole church and sees all of it."""
        return self.role in ("owner", "admin")

    @property
    def can_compose(self) -> bool:
        """Owners and admins write broadcasts; leaders only when the church lets them."""
        return self.is_admin or self.church.leaders_can_send

    @property
    def is_leader(self) -> bool:
        """A ministry leader: sees and texts the members of the groups they lead."""
        return self.role == "leader"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class Branch(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "branches"
    __table_args__ = (Index("uq_branches_church_id_name", "church_id", "name", unique=True),)

    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)


class PhoneNumber(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "phone_numbers"
    __table_args__ = (
        CheckConstraint(status_check("number_type", NUMBER_TYPES), name="number_type"),
        # A branch sends from at most one number of its own.
        Index("uq_phone_numbers_branch_id", "branch_id", unique=True, postgresql_where=text("branch_id IS NOT NULL")),
    )

    e164: Mapped[str] = mapped_column(String(20), unique=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    number_type: Mapped[str] = mapped_column(String(16), default="long_code", server_default="long_code")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    provider_id: Mapped[str | None] = mapped_column(String(64))
    messaging_profile_id: Mapped[str | None] = mapped_column(String(64))


class UserSession(TenantMixin, Base):
    """One signed-in browser: its opaque key travels in the signed session and remember-me cookie.

    Ending a session deletes its row; a cookie whose key has no row is signed out on its next
    request. See app/auth/sessions.py.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_last_seen_at", "user_id", text("last_seen_at DESC")),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The user's session_version when it started: a sign-out everywhere ends it with the rest.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))


# A change to who someone is or what they may do ends the sessions signed in before it.
SESSION_ENDING_FIELDS = ("role", "active", "password_hash")


@event.listens_for(Session, "before_flush")
def _end_sessions_on_access_change(session: Session, flush_context, instances) -> None:
    for obj in session.dirty:
        if not isinstance(obj, User):
            continue
        attrs = inspect(obj).attrs
        if attrs.session_version.history.has_changes():
            continue  # already ended (end_sessions) in this flush
        if any(attrs[name].history.has_changes() for name in SESSION_ENDING_FIELDS):
            obj.end_sessions()
