"""All models, importable from one place (Alembic autogenerate needs them loaded)."""

from app.models.accounts import AccountToken
from app.models.api_keys import ApiKey
from app.models.automations import Workflow, WorkflowEnrollment, WorkflowStep, WorkflowStepRun
from app.models.base import Base
from app.models.connect import ConnectCard, ConnectSubmission
from app.models.custom_fields import CustomField, MemberFieldValue
from app.models.imports import MemberImport
from app.models.inbox import Conversation, ConversationMessage, ConversationNote
from app.models.integrations import PcoConnection, PcoList, PcoPerson, PcoSync
from app.models.links import LinkCode, TrackedLink
from app.models.messaging import Broadcast, BroadcastRecipient, Schedule, Template
from app.models.notifications import NotificationSetting, PushSubscription, UnreadMailSent
from app.models.ops import AuditLog, DailyStat, DeadLetter, Subscription, UsagePeriod, WebhookEvent
from app.models.people import ConsentEvent, Group, GroupLeader, GroupMember, Keyword, Member
from app.models.tenancy import Branch, Church, PhoneNumber, User, UserSession
from app.models.two_factor import Passkey, RecoveryCode, TotpSecret
from app.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountToken",
    "ApiKey",
    "AuditLog",
    "Base",
    "Branch",
    "Broadcast",
    "BroadcastRecipient",
    "Church",
    "ConnectCard",
    "ConnectSubmission",
    "ConsentEvent",
    "Conversation",
    "ConversationMessage",
    "ConversationNote",
    "CustomField",
    "DailyStat",
    "DeadLetter",
    "Group",
    "GroupLeader",
    "GroupMember",
    "Keyword",
    "LinkCode",
    "Member",
    "PcoConnection",
    "PcoList",
    "PcoPerson",
    "PcoSync",
    "MemberImport",
    "MemberFieldValue",
    "NotificationSetting",
    "Passkey",
    "PhoneNumber",
    "PushSubscription",
    "RecoveryCode",
    "Schedule",
    "Subscription",
    "Template",
    "TotpSecret",
    "TrackedLink",
    "UnreadMailSent",
    "UsagePeriod",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workflow",
    "WorkflowEnrollment",
    "WorkflowStep",
    "WorkflowStepRun",
    "WebhookEvent",
]
