"""Extensions, created once here and bound to the app in create_app()."""

from __future__ import annotations

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from rq import Queue

from app.models.base import Base
from app.replicas import RoutingSession

# RoutingSession sends a @replica_reads view's SELECTs to DATABASE_REPLICA_URL (app/replicas.py).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

QUEUE_NAMES = ("high", "default", "low")


class RedisExtension:
    """One Redis client and the RQ queues per app, reachable as `rds.client` / `rds.queue(name)`."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._queues: dict[str, Queue] = {}

    def init_app(self, app: Flask) -> None:
        self._client = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        # RQ pickles job arguments and results; it needs a client that does not decode.
        self._queues = {name: Queue(name, connection=self._client) for name in QUEUE_NAMES}
        app.extensions["koinonia_redis"] = self

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            raise RuntimeError("Redis is not initialised; call init_app first")
        return self._client

    def queue(self, name: str = "default") -> Queue:
        return self._queues[name]

    @property
    def queues(self) -> list[Queue]:
        return [self._queues[n] for n in QUEUE_NAMES]


rds = RedisExtension()


def user_rate_key() -> str:
    """Rate-limit key for signed-in work: the user, so people behind one church's address share nothing."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()
