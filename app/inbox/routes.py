"""The shared conversation inbox: list, thread, actions and the live poll."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_login import current_user

from app import merge
from app.auth.decorators import STAFF, role_required
from app.csv_export import ExportRunning, busy_response, export_limit
from app.deletion import undo_notice
from app.delivery.segments import PRICE_PER_MMS, analyze
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.htmx import is_fragment_request, render
from app.inbox import bp, export, queries, services
from app.inbox.forms import AssignForm, NoteForm, ReplyForm, StatusForm
from app.inbox.panes import (
    find_pane,
    inbox_version,
    list_context,
    pane_html,
    poll_context,
    reply_box_context,
    thread_context,
)
from app.models import Church, Conversation, ConversationNote, Member, Template
from app.people.custom_fields import member_merge_values, merge_fields
from app.replicas import replica_reads
from app.security.inputs import parse_id
from app.tenancy import get_or_404, scoped


def _conversation(conversation_id: int) -> Conversation:
    """This church's conversation, and one this user may see; 404 otherwise (never 403: ids stay opaque).

    The member is loaded in the same query (the thread always shows them) and held on `g` for the
    request: the session's identity map holds objects weakly, so without a reference the later
    `db.session.get(Member, …)` would load it again.
    """
    row = db.session.execute(
        scoped(Conversation)
        .add_columns(Member)
        .join(Member, Member.id == Conversation.member_id)
        .where(Conversation.id == conversation_id)
    ).first()
    if row is None or not services.can_see(current_user, row[0]):
        abort(404)
    g.conversation_member = row[1]
    return row[0]


@bp.get("/inbox")
@role_required(*STAFF)
@replica_reads
def index():
    """The inbox: the conversation list, and an empty thread pane."""
    flt = queries.ListFilter.from_args(request.args)
    return render("inbox/page.html", **list_context(flt), conversation=None)


@bp.get("/inbox/rows")
@role_required(*STAFF)
@replica_reads
def rows():
    """List rows for a filter or the next page (infinite scroll)."""
    flt = queries.ListFilter.from_args(request.args)
    if not is_fragment_request():
        return redirect(url_for("inbox.index", **flt.params()))
    body, status = render("inbox/page.html", "inbox/_rows_response.html", **list_context(flt), conversation=None)
    response = Response(body, status)
    if flt.before_at is None:
        response.headers["HX-Push-Url"] = url_for("inbox.index", **flt.params())
    return response


@bp.get("/inbox/<int:conversation_id>")
@role_required(*STAFF)
def conversation(conversation_id: int):
    """One thread: the whole page, or just the thread pane for HTMX."""
    flt = queries.ListFilter.from_args(request.args)
    fragment = is_fragment_request()
    pane = find_pane(current_user.church_id, conversation_id, None if fragment else flt)
    # Admins may see every conversation of their church, and a pane is stored only once
    # `_conversation` found it there (the key holds the church): a cached one needs no query. A
    # conversation marked unread or written to since has a new version, so it goes the long way.
    conv = row = None
    if pane.html is None or not current_user.is_admin:
        conv = _conversation(conversation_id)
        if services.mark_read(conv):
            db.session.commit()
            pane = find_pane(conv.church_id, conv.id, None if fragment else flt)
        # The list row goes along out of band: opening it may have just marked it read.
        row = queries.list_row(conv.church_id, conv.id) if fragment else None
    if fragment:
        return render("inbox/_thread_response.html", thread_pane=pane_html(pane, conv), row=row, flt=flt)
    return render("inbox/page.html", **list_context(flt, pane.found), thread_pane=pane_html(pane, conv))


@bp.get("/inbox/<int:conversation_id>/export.csv")
@export_limit
@role_required(*STAFF)
@replica_reads
def export_thread(conversation_id: int):
    """The whole thread as CSV (a conversation the user may see, else 404)."""
    conv = _conversation(conversation_id)
    try:
        return export.export_response(current_user, conv)
    except ExportRunning as err:
        return busy_response(err)


@bp.get("/inbox/<int:conversation_id>/older")
@role_required(*STAFF)
def older(conversation_id: int):
    """Older messages of a thread (loaded when scrolling up)."""
    conv = _conversation(conversation_id)
    before = request.args.get("before", "")
    if not is_fragment_request():
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    return render("inbox/_messages.html", conversation=conv, thread=queries.thread_page(conv, before))


@bp.post("/inbox/<int:conversation_id>/reply")
@role_required(*STAFF)
def reply(conversation_id: int):
    """Queue a reply: it shows at once as "sending" and goes out from the high-priority queue."""
    conv = _conversation(conversation_id)
    form = ReplyForm()
    try:
        if not form.validate_on_submit():
            raise ValidationError(next(iter(form.errors.values()))[0])
        attached = services.attachments(conv.church_id, form.picture.data, form.media_url.data)
        message = services.reply(conv, current_user, form.body.data, attached)
    except (ValidationError, PermissionDenied) as err:
        db.session.rollback()
        if not is_fragment_request():
            abort(422 if isinstance(err, ValidationError) else 403)
        ctx = reply_box_context(conv, body=form.body.data, error=err.message)
        return render("inbox/_reply_box.html", **ctx, status=422)
    db.session.commit()
    if not is_fragment_request():
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    authors = {current_user.id: current_user.display_name}
    return render("inbox/_reply_response.html", **reply_box_context(conv), item=message, authors=authors)


@bp.get("/inbox/<int:conversation_id>/reply-box")
@role_required(*STAFF)
def reply_box(conversation_id: int):
    """The reply box, optionally filled with a canned reply (merge fields filled in)."""
    conv = _conversation(conversation_id)
    body = request.args.get("body", "")[: services.MAX_BODY]
    template_id = parse_id(request.args.get("template_id"))
    if template_id is not None:
        template = get_or_404(Template, template_id)
        member = db.session.get(Member, conv.member_id)
        custom = member_merge_values(conv.church_id, conv.member_id)
        keys = merge_fields(conv.church_id).keys
        body = merge.render(template.body, member, db.session.get(Church, conv.church_id), custom, keys)
    if not is_fragment_request():
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    return render("inbox/_reply_box.html", **reply_box_context(conv, body=body))


@bp.post("/inbox/segments")
@role_required(*STAFF)
def segments():
    """The live segment counter under the reply box (an MMS, priced per message, once a picture is chosen)."""
    picture = bool(request.form.get("media_url", "").strip() or request.form.get("picture") or request.files)
    info = analyze(request.form.get("body", ""))
    return render("inbox/_counter.html", info=info, mms=picture, mms_price=PRICE_PER_MMS)


@bp.post("/inbox/<int:conversation_id>/notes")
@role_required(*STAFF)
def add_note(conversation_id: int):
    """Add an internal note (never sent to the member)."""
    conv = _conversation(conversation_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return render("inbox/_note_form.html", conversation=conv, note_form=form, status=422)
    note = services.add_note(conv, current_user, form.body.data)
    db.session.commit()
    if not is_fragment_request():
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    return render("inbox/_note_response.html", conversation=conv, item=note, note_form=NoteForm(formdata=None))


@bp.post("/inbox/<int:conversation_id>/notes/<int:note_id>/delete")
@role_required(*STAFF)
def delete_note(conversation_id: int, note_id: int):
    """Remove an internal note (its author or an admin)."""
    conv = _conversation(conversation_id)
    note = get_or_404(ConversationNote, note_id)
    if note.conversation_id != conv.id:
        abort(404)
    services.delete_note(note, current_user)
    db.session.commit()
    if not is_fragment_request():
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    return ""


@bp.post("/inbox/<int:conversation_id>/assign")
@role_required(*STAFF)
def assign(conversation_id: int):
    """Assign the conversation to a leader or admin (or nobody)."""
    conv = _conversation(conversation_id)
    form = AssignForm()
    if form.validate_on_submit():
        services.assign(conv, form.assignee())
        db.session.commit()
    return _after_action(conv)


@bp.post("/inbox/<int:conversation_id>/status")
@role_required(*STAFF)
def set_status(conversation_id: int):
    """Close, reopen or archive."""
    conv = _conversation(conversation_id)
    form = StatusForm()
    if not form.validate_on_submit():
        raise ValidationError("Unknown status.")
    previous = conv.status
    services.set_status(conv, form.status.data)
    db.session.commit()
    undo = None
    if conv.status in ("closed", "archived") and previous != conv.status:
        action = url_for("inbox.set_status", conversation_id=conv.id)
        undo = undo_notice(f"Conversation {conv.status}.", action, status=previous)
    return _after_action(conv, undo=undo)


@bp.post("/inbox/<int:conversation_id>/unread")
@role_required(*STAFF)
def mark_unread(conversation_id: int):
    """Mark unread, so it stands out in the list again."""
    conv = _conversation(conversation_id)
    services.mark_unread(conv)
    db.session.commit()
    return _after_action(conv)


def _after_action(conv: Conversation, undo: dict | None = None):
    """The updated thread header (and list row) for HTMX; back to the thread otherwise.

    `undo` (app.deletion.undo_notice) shows an Undo button: in the header, or as a flash.
    """
    if not is_fragment_request():
        if undo:
            flash(undo, "undo")
        return redirect(url_for("inbox.conversation", conversation_id=conv.id))
    return render("inbox/_action_response.html", **thread_context(conv, items=False), undo=undo)


@bp.get("/inbox/poll")
@role_required(*STAFF)
def poll():
    """204 while the church's inbox version is unchanged; else the changed rows, messages and the new version."""
    try:
        version = int(request.args.get("v", ""))
    except ValueError:
        version = -1
    current = inbox_version(current_user.church_id)
    recheck = request.args.get("recheck") == "1"
    if current == version and not recheck:
        return Response(status=204)
    ctx = poll_context(request.args, version)
    return render("inbox/_poll_response.html", **ctx)
