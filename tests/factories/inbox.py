from app.models import Conversation
from tests.factories.base import Factory


class ConversationFactory(Factory):
    class Meta:
        model = Conversation

    status = "open"
    last_message_preview = "Hello"
