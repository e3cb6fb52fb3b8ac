"""/api/v1/members: list (cursor, filters), get, create, upsert by phone, update, delete, consent."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from app.api.v1 import schemas
from app.api.v1.auth import actor, blueprint, requires
from app.api.v1.paging import decode_cursor, page_of
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.models import ConsentEvent, GroupMember, Member
from app.people import custom_fields, services
from app.people.phones import PhoneError, normalize_phone
from app.people.queries import in_group
from app.tenancy import scoped

blp = blueprint("members", "People who receive texts. A member is opted out once they text STOP.")


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw, actor().church.country or "US")
    except PhoneError as err:
        raise ValidationError("Some fields need fixing.", details={"phone": [str(err)]}) from None


def _member(member_id: int) -> Member:
    member = db.session.scalar(scoped(Member, actor().church_id).where(Member.id == member_id))
    if member is None:
        abort(404)
    return member


def _input(member: Member | None, fields: dict) -> services.MemberInput:
    """The page's MemberInput: what was sent, the member's current values for the rest."""
    group_ids = []
    if member is not None:
        group_ids = list(db.session.scalars(select(GroupMember.group_id).where(GroupMember.member_id == member.id)))

    def current(name: str, default):
        return getattr(member, name) if member is not None else default

    return services.MemberInput(
        first_name=fields.get("first_name", current("first_name", "")),
        last_name=fields.get("last_name", current("last_name", "")),
        phone_e164=_phone(fields["phone"]) if "phone" in fields else member.phone_e164,
        email=fields["email"] if "email" in fields else current("email", None),
        branch_id=current("branch_id", None),
        group_ids=group_ids,
        language=current("language", "en"),
        notes=current("notes", None),
        custom=_custom(fields.get("custom_fields") or {}),
    )


def _custom(sent: dict) -> dict[int, object]:
    """Field id -> typed value for the custom fields sent; 422 naming each key that does not fit."""
    fields = {f.key: f for f in custom_fields.church_fields(actor().church_id)}
    values: dict[int, object] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in sent.items():
        spec = fields.get(key)
        if spec is None:
            errors[key] = ["Not a member field of this church."]
            continue
        try:
            values[spec.id] = custom_fields.parse_value(spec, raw)
        except custom_fields.FieldValueError as err:
            errors[key] = [str(err)]
    if errors:
        raise ValidationError("Some fields need fixing.", details={"custom_fields": errors})
    return values


def _out(*members: Member) -> None:
    """Attach each member's custom field values for the response (one statement for a page)."""
    if not members:
        return
    church_id = actor().church_id
    values = custom_fields.member_values(church_id, [m.id for m in members])
    for member in members:
        member.api_custom_fields = {k: custom_fields.as_json(v) for k, v in values.get(member.id, {}).items()}


def _one(member: Member) -> dict:
    _out(member)
    return {"data": member}


def _create(fields: dict) -> Member:
    data = _input(None, fields)
    _refuse_taken(data.phone_e164)
    return services.create_member(actor(), data, source="api", how="through the API")


def _refuse_taken(e164: str, member_id: int | None = None) -> None:
    """409 naming the member who has the number (the member form's own check, before any write)."""
    owner = services.phone_owner(actor().church_id, e164, member_id)
    if owner is not None:
        raise Conflict("This number already belongs to another member.", details={"member_id": owner.id})


@blp.route("/members")
class Members(MethodView):
    @blp.arguments(schemas.MemberListArgs, location="query", as_kwargs=True)
    @blp.response(200, schemas.MemberPage)
    @requires("read")
    def get(self, limit: int, cursor: str | None = None, group=None, opted_out=None, updated_since=None):
        """List members, oldest first. Scope: `read`."""
        return _list_members(limit, cursor, group, opted_out, updated_since)

    @blp.arguments(schemas.MemberInputSchema)
    @blp.response(201, schemas.MemberOne)
    @requires("members:write")
    def post(self, fields: dict):
        """Add a member (409 when the number is already a member's). Scope: `members:write`."""
        member = _create(fields)
        db.session.commit()
        return _one(member)


def _list_members(limit, cursor, group, opted_out, updated_since) -> dict:
    stmt = scoped(Member, actor().church_id)
    if group is not None:
        stmt = stmt.where(in_group(group))
    if opted_out is not None:
        stmt = stmt.where(Member.opted_out_at.is_not(None) if opted_out else Member.opted_out_at.is_(None))
    if updated_since is not None:
        stmt = stmt.where(Member.updated_at >= updated_since)
    page = page_of(stmt, Member.id, decode_cursor(cursor), limit)
    _out(*page["data"])
    return page


@blp.route("/members/upsert", methods=["POST"])
@blp.arguments(schemas.MemberInputSchema)
@blp.response(200, schemas.MemberOne, description="An existing member, updated.")
@blp.alt_response(201, schema=schemas.MemberOne, description="A new member.")
@requires("members:write")
def upsert_member(fields: dict):
    """Find the member by phone (any format, read as the pages read it), update or add them. Scope: `members:write`."""
    e164 = _phone(fields["phone"])
    member = services.phone_owner(actor().church_id, e164)
    if member is None:
        member = _create(fields)
        db.session.commit()
        return _one(member), 201
    services.update_member(actor(), member, _input(member, fields))
    db.session.commit()
    return _one(member)


@blp.route("/members/<int:member_id>")
class OneMember(MethodView):
    @blp.response(200, schemas.MemberOne)
    @requires("read")
    def get(self, member_id: int):
        """One member. Scope: `read`."""
        return _one(_member(member_id))

    @blp.arguments(schemas.MemberPatchSchema)
    @blp.response(200, schemas.MemberOne)
    @requires("members:write")
    def patch(self, fields: dict, member_id: int):
        """Change the fields sent; the others keep their values. Scope: `members:write`."""
        member = _member(member_id)
        data = _input(member, fields)
        _refuse_taken(data.phone_e164, member.id)
        services.update_member(actor(), member, data)
        db.session.commit()
        return _one(member)

    @blp.response(204)
    @requires("members:write")
    def delete(self, member_id: int):
        """Delete a member. Scope: `members:write`."""
        services.delete_member(actor(), _member(member_id))
        db.session.commit()


@blp.route("/members/<int:member_id>/consent", methods=["GET"])
@blp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.ConsentPage)
@requires("read")
def consent_history(member_id: int, limit: int, cursor: str | None = None):
    """The member's consent ledger (opt-ins and opt-outs, with their source), oldest first. Scope: `read`."""
    member = _member(member_id)
    stmt = select(ConsentEvent).where(ConsentEvent.church_id == member.church_id, ConsentEvent.member_id == member.id)
    return page_of(stmt, ConsentEvent.id, decode_cursor(cursor), limit)
