"""Automations: a workflow (trigger, ordered steps, exits), the people enrolled in it, what each step did."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

# A date-field trigger (a birthday, an anniversary) needs custom member fields; it is added here,
# with its enrollment query in app.automations.enrollment, once members carry such fields.
TRIGGERS = ("connect_card", "group_joined", "keyword", "first_text")
WORKFLOW_STATUSES = ("active", "paused")
STEP_KINDS = ("wait", "wait_until", "text", "add_group", "remove_group", "assign", "notify")
ENROLLMENT_STATUSES = ("active", "completed", "exited")
EXIT_REASONS = ("opted_out", "replied", "left_group")


class Workflow(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "workflows"
    __table_args__ = (
        CheckConstraint(status_check("trigger", TRIGGERS), name="trigger"),
        CheckConstraint(status_check("status", WORKFLOW_STATUSES), name="status"),
        UniqueConstraint("church_id", "id", name="uq_workflows_church_id_id"),
    )

    name: Mapped[str] = mapped_column(String(120))
    trigger: Mapped[str] = mapped_column(String(32))
    trigger_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    trigger_keyword_id: Mapped[int | None] = mapped_column(ForeignKey("keywords.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # Events from this moment on enroll people; resuming a paused workflow moves it.
    active_since: Mapped[datetime] = mapped_column(server_default=func.now())
    exit_on_reply: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Leaving this group takes a person out of the workflow. Opting out always does.
    exit_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class WorkflowStep(IdMixin, TenantMixin, Base):
    __tablename__ = "workflow_steps"
    __table_args__ = (
        CheckConstraint(status_check("kind", STEP_KINDS), name="kind"),
        Index("uq_workflow_steps_workflow_id_position", "workflow_id", "position", unique=True),
        UniqueConstraint("church_id", "id", name="uq_workflow_steps_church_id_id"),  # keys on church_id
    )

    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    wait_minutes: Mapped[int | None] = mapped_column()
    at_time: Mapped[time | None] = mapped_column()
    body: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WorkflowEnrollment(IdMixin, TenantMixin, Base):
    """One person in one workflow (at most once: unique on workflow and member)."""

    __tablename__ = "workflow_enrollments"
    __table_args__ = (
        CheckConstraint(status_check("status", ENROLLMENT_STATUSES), name="status"),
        Index("uq_workflow_enrollments_workflow_id_member_id", "workflow_id", "member_id", unique=True),
        UniqueConstraint("church_id", "id", name="uq_workflow_enrollments_church_id_id"),  # keys on church_id
        # What the scheduler claims: the active ones that are due.
        Index("ix_workflow_enrollments_due", "due_at", postgresql_where=text("status = 'active'")),
        Index("ix_workflow_enrollments_member_id", "member_id"),
    )

    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    position: Mapped[int] = mapped_column(default=0, server_default="0")  # the next step to run
    due_at: Mapped[datetime] = mapped_column()
    # Why a due step is held (quiet hours, allowance) until due_at; None when nothing holds it.
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    enrolled_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(16))


class WorkflowStepRun(IdMixin, TenantMixin, Base):
    """A step that ran for one enrollment: once, by the unique key, whatever the workers do."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (
        Index("uq_workflow_step_runs_enrollment_id_position", "enrollment_id", "position", unique=True),
        UniqueConstraint("church_id", "id", name="uq_workflow_step_runs_church_id_id"),  # keys on church_id
        Index("ix_workflow_step_runs_workflow_id_position", "workflow_id", "position"),
    )

    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("workflow_enrollments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))  # done, sent, skipped
    message_id: Mapped[int | None] = mapped_column(ForeignKey("conversation_messages.id", ondelete="SET NULL"))
    ran_at: Mapped[datetime] = mapped_column()
