"""/api/v1/groups: list, create, and members added or removed in bulk (one statement each)."""

from __future__ import annotations

from flask.views import MethodView

from app.api.v1 import schemas
from app.api.v1.auth import actor, blueprint, requires
from app.api.v1.paging import decode_cursor, page_of
from app.extensions import db
from app.models import Group
from app.people import groups, services
from app.tenancy import scoped

blp = blueprint("groups", "Ministries: members in named groups that broadcasts can address.")


@blp.route("/groups")
class Groups(MethodView):
    @blp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
    @blp.response(200, schemas.GroupPage)
    @requires("read")
    def get(self, limit: int, cursor: str | None = None):
        """List groups, oldest first. Scope: `read`."""
        return page_of(scoped(Group, actor().church_id), Group.id, decode_cursor(cursor), limit)

    @blp.arguments(schemas.GroupInputSchema)
    @blp.response(201, schemas.GroupOne)
    @requires("members:write")
    def post(self, fields: dict):
        """Add a group (409 when the church has one of that name). Scope: `members:write`."""
        group = groups.create_group(actor(), fields["name"], fields.get("description"))
        db.session.commit()
        return {"data": group}


@blp.route("/groups/<int:group_id>", methods=["GET"])
@blp.response(200, schemas.GroupOne)
@requires("read")
def get_group(group_id: int):
    """One group. Scope: `read`."""
    return {"data": db.session.scalar(scoped(Group, actor().church_id).where(Group.id == group_id))}


@blp.route("/groups/<int:group_id>/members", methods=["POST"])
@blp.arguments(schemas.MemberIdsSchema)
@blp.response(200, schemas.BulkResult)
@requires("members:write")
def add_members(fields: dict, group_id: int):
    """Add members to the group in one statement; `changed` counts those not in it before. Scope: `members:write`."""
    return _bulk(services.bulk_add_to_group, fields["member_ids"], group_id)


@blp.route("/groups/<int:group_id>/members/remove", methods=["POST"])
@blp.arguments(schemas.MemberIdsSchema)
@blp.response(200, schemas.BulkResult)
@requires("members:write")
def remove_members(fields: dict, group_id: int):
    """Take members out of the group (their other groups stay). Scope: `members:write`."""
    return _bulk(services.bulk_remove_from_group, fields["member_ids"], group_id)


def _bulk(change, member_ids: list[int], group_id: int) -> dict:
    """The pages' bulk service: one statement, other churches' ids ignored by its own WHERE."""
    _, changed = change(actor(), member_ids, group_id)
    db.session.commit()
    return {"data": {"changed": changed}}
