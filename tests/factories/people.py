import factory

from app.models import Group, Member
from tests.factories.base import Factory


class MemberFactory(Factory):
    class Meta:
        model = Member

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone_e164 = factory.Sequence(lambda n: f"+1773555{n % 10000:04d}")


class GroupFactory(Factory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Group {n}")
