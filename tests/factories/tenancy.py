import factory

from app.auth.services import hash_password
from app.models import Branch, Church, User
from tests.factories.base import Factory

_PASSWORD_HASH = hash_password("correct horse battery")


class ChurchFactory(Factory):
    class Meta:
        model = Church

    name = factory.Sequence(lambda n: f"Test Church {n}")
    slug = factory.Sequence(lambda n: f"test-church-{n}")
    timezone = "America/Chicago"


class UserFactory(Factory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = "admin"
    password_hash = _PASSWORD_HASH


class BranchFactory(Factory):
    class Meta:
        model = Branch

    name = factory.Sequence(lambda n: f"Branch {n}")
