"""factory_boy factories, one module per domain, all flushing into the test session."""

from tests.factories.inbox import ConversationFactory
from tests.factories.people import GroupFactory, MemberFactory
from tests.factories.tenancy import BranchFactory, ChurchFactory, UserFactory

__all__ = [
    "BranchFactory",
    "ChurchFactory",
    "ConversationFactory",
    "GroupFactory",
    "MemberFactory",
    "UserFactory",
]
