"""Settings read from the environment, validated once at start-up.

Every setting comes from the environment (a `.env` file fills in what the caller did
not set). A missing or malformed required value raises ConfigError with one line that
names the variable and what is expected; the entry points turn it into a clean exit.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from email.utils import parseaddr
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from dotenv import load_dotenv
from limits import parse_many


class ConfigError(Exception):
    """A required setting is missing or malformed."""


ENVIRONMENTS = ("development", "test", "production")

# Keys that have appeared in this repository (compose files, examples, tests): public, so anyone
# could sign a session with them. Production refuses them whatever their length;
# tests/unit/test_config.py checks that every long key the repository spells out is listed here.
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "docker-dev-secret-key-change-me-0123456789",
        "test-secret-key-not-for-production",
        "e2e-secret-key-0123456789",
        "kill-test-secret-key-0123",
        "a-long-enough-secret-key",
        "bench-secret-key-0123456789",
        "bench-secret-key-0123456789abcdef",
    }
)
PRODUCTION_SECRET_BYTES = 32


def _required(env: Mapping[str, str], name: str, expected: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required: {expected}")
    return value


def _database_url(env: Mapping[str, str], name: str, *, required: bool = True) -> str | None:
    expected = "a postgresql:// URL (e.g. postgresql+psycopg://user:pass@host:5432/db)"
    value = env.get(name, "").strip()
    if not value:
        if required:
            raise ConfigError(f"{name} is required: {expected}")
        return None
    scheme = urlsplit(value).scheme
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigError(f"{name} must be {expected}")
    # psycopg 3 is the only driver we ship; normalise the scheme so SQLAlchemy picks it.
    return "postgresql+psycopg" + value[len(scheme) :]


def _redis_url(env: Mapping[str, str], name: str) -> str:
    value = _required(env, name, "a redis:// URL (e.g. redis://127.0.0.1:6379/0)")
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name} must be a redis:// URL (e.g. redis://127.0.0.1:6379/0)")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s):// URL")
    return value.rstrip("/")


def _smtp_url(env: Mapping[str, str]) -> str | None:
    """SMTP_URL: smtp://[user:pass@]host:port, with ?starttls=1 to upgrade the connection."""
    value = env.get("SMTP_URL", "").strip()
    if not value:
        return None
    expected = "SMTP_URL must be smtp://[user:pass@]host:port (add ?starttls=1 to use STARTTLS)"
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(expected) from None
    if parts.scheme != "smtp" or not parts.hostname or port is None:
        raise ConfigError(expected)
    if parts.query and parts.query not in ("starttls=1", "starttls=0"):
        raise ConfigError(expected)
    return value


def _mail_from(env: Mapping[str, str], base_url: str) -> str:
    """MAIL_FROM: an address, or 'Name <address>'; defaults to no-reply at APP_BASE_URL's host."""
    value = env.get("MAIL_FROM", "").strip()
    if not value:
        host = urlsplit(base_url).hostname or "localhost"
        return f"Koinonia <no-reply@{host}>"
    _, address = parseaddr(value)
    if "@" not in address or "\n" in value or "\r" in value:
        raise ConfigError("MAIL_FROM must be an email address, e.g. Koinonia <no-reply@example.org>")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}")
    return value


def _price_ids(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get("STRIPE_PRICE_IDS", "").strip()
    pairs: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        plan, sep, price = item.partition("=")
        if not sep or not plan.strip() or not price.strip():
            raise ConfigError("STRIPE_PRICE_IDS must be plan=price pairs, e.g. starter=price_123,growth=price_456")
        pairs[plan.strip().lower()] = price.strip()
    return pairs


def settings_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """Validate the environment and return Flask config keys; raise ConfigError on the first problem."""
    secret = _required(env, "SECRET_KEY", "a random string of at least 16 characters (32 bytes in production)")
    if len(secret) < 16:
        raise ConfigError("SECRET_KEY must be at least 16 characters")
    environment = _choice(env, "KOINONIA_ENV", ENVIRONMENTS, "production")
    if environment == "production":
        _check_production_secret(secret)
    provider = _choice(env, "SMS_PROVIDER", ("simulator", "telnyx"), "simulator")
    public_key = env.get("TELNYX_PUBLIC_KEY", "").strip()
    if public_key:
        try:
            if len(base64.b64decode(public_key, validate=True)) != 32:
                raise ValueError
        except (binascii.Error, ValueError):
            raise ConfigError("TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 public key") from None
    if provider == "telnyx":
        _required(env, "TELNYX_API_KEY", "your Telnyx API v2 key when SMS_PROVIDER=telnyx")
        if not public_key:
            raise ConfigError("TELNYX_PUBLIC_KEY is required when SMS_PROVIDER=telnyx: base64 Ed25519 key")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")

    base_url = _http_url(env, "APP_BASE_URL", "http://127.0.0.1:8000")
    return {
        "SECRET_KEY": secret,
        "KOINONIA_ENV": environment,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, "DATABASE_URL"),
        "DATABASE_REPLICA_URL": _database_url(env, "DATABASE_REPLICA_URL", required=False),
        # Past this lag (seconds) the replica serves no reads; a writer reads the primary this long
        # and a few seconds more (app/replicas.py).
        "REPLICA_MAX_LAG_SECONDS": _positive_int(env, "REPLICA_MAX_LAG_SECONDS", 5),
        # `pgbouncer`: DATABASE_URL (and the replica's) is a PgBouncer in transaction mode, so no
        # statement is prepared on the server (see driver_connect_args).
        "DATABASE_POOLER": _choice(env, "DATABASE_POOLER", ("none", "pgbouncer"), "none"),
        "REDIS_URL": _redis_url(env, "REDIS_URL"),
        "APP_BASE_URL": base_url,
        "SMTP_URL": _smtp_url(env),
        "MAIL_FROM": _mail_from(env, base_url),
        "SMS_PROVIDER": provider,
        "TELNYX_API_KEY": env.get("TELNYX_API_KEY", "").strip() or "simulator",
        "TELNYX_PUBLIC_KEY": public_key,
        "TELNYX_MESSAGING_PROFILE_ID": env.get("TELNYX_MESSAGING_PROFILE_ID", "").strip() or None,
        "TELNYX_API_BASE": _http_url(env, "TELNYX_API_BASE", "https://api.telnyx.com/v2"),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", "").strip() or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", "").strip() or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "").strip().rstrip("/") or None,
        "STRIPE_PRICE_IDS": _price_ids(env),
        "PCO_API_BASE": _http_url(env, "PCO_API_BASE", "https://api.planningcenteronline.com"),
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", ("json", "console"), "json"),
        "SLOW_QUERY_MS": _positive_int(env, "SLOW_QUERY_MS", 250),
        # How long a claimed recipient may stay `sending` before the reaper calls it `unknown`:
        # longer than any live batch holds a claim, short enough that a crash shows soon.
        "REAP_CLAIMS_AFTER_SECONDS": _positive_int(env, "REAP_CLAIMS_AFTER_SECONDS", 300),
        # A reply or member import still waiting for its job this long lost it (Redis flushed or
        # restarted empty): the sweeps queue it again from the database.
        "REQUEUE_LOST_JOBS_AFTER_SECONDS": _positive_int(env, "REQUEUE_LOST_JOBS_AFTER_SECONDS", 120),
        # Provider webhooks are kept this many days, a partition per day dropped whole (app/partitions.py).
        "WEBHOOK_EVENTS_RETENTION_DAYS": _positive_int(env, "WEBHOOK_EVENTS_RETENTION_DAYS", 30),
        # Per-recipient rows of finished broadcasts, and inbox messages, are deleted past these many
        # days (0 keeps them); the counts stay on broadcasts and daily_stats (app/retention.py).
        "BROADCAST_RECIPIENTS_RETENTION_DAYS": _non_negative_int(env, "BROADCAST_RECIPIENTS_RETENTION_DAYS", 400),
        "CONVERSATION_MESSAGES_RETENTION_DAYS": _non_negative_int(env, "CONVERSATION_MESSAGES_RETENTION_DAYS", 0),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", "").strip() or None,
        "OPS_ADMIN_EMAILS": _emails(env, "OPS_ADMIN_EMAILS"),
        "TRUSTED_PROXY_HOPS": _proxy_hops(env),
        "LINK_RATE_LIMIT": _rate(env, "LINK_RATE_LIMIT", "300 per minute"),
        # Pictures staff attach to texts: kept here, fetched by the provider from a signed URL.
        "MEDIA_ROOT": env.get("MEDIA_ROOT", "").strip() or os.path.join(_ROOT, ".var", "media"),
        "MEDIA_URL_SECONDS": _positive_int(env, "MEDIA_URL_SECONDS", 7 * 86400),
        **_vapid(env),
    }


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A Flask-Limiter rate ("300 per minute"), checked at start rather than on the first request."""
    value = env.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '300 per minute'") from None
    return value


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _vapid(env: Mapping[str, str]) -> dict[str, str | None]:
    """Web Push's VAPID key pair (base64url, as browsers and pywebpush take them) and its contact.

    Both keys or neither: without them push notifications are off. The public key must be the
    private key's, or every push service would refuse what Koinonia signs.
    """
    public = env.get("VAPID_PUBLIC_KEY", "").strip()
    private = env.get("VAPID_PRIVATE_KEY", "").strip()
    subject = env.get("VAPID_SUBJECT", "").strip()
    if not public and not private:
        return {"VAPID_PUBLIC_KEY": None, "VAPID_PRIVATE_KEY": None, "VAPID_SUBJECT": subject or None}
    hint = "generate a pair with: python -m app.notifications.vapid"
    if not public or not private:
        raise ConfigError(f"VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together (set both or neither): {hint}")
    try:
        secret = _b64url(private)
        if len(secret) != 32:
            raise ValueError
        key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    except (binascii.Error, ValueError):
        raise ConfigError(f"VAPID_PRIVATE_KEY must be the base64url of a 32-byte P-256 private key: {hint}") from None
    try:
        matches = _b64url(public) == key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    except (binascii.Error, ValueError):
        matches = False
    if not matches:
        raise ConfigError(f"VAPID_PUBLIC_KEY must be the base64url public key of VAPID_PRIVATE_KEY: {hint}")
    if not subject.startswith(("mailto:", "https://")):
        raise ConfigError("VAPID_SUBJECT must be a mailto: or https:// contact, e.g. mailto:you@church.org")
    return {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": subject}


def _emails(env: Mapping[str, str], name: str) -> frozenset[str]:
    """A comma-separated list of email addresses, lower-cased."""
    return frozenset(e.strip().lower() for e in env.get(name, "").split(",") if e.strip())


def _proxy_hops(env: Mapping[str, str]) -> int:
    # X-Forwarded-For is only as good as the proxy that wrote it: read it only when told how
    # many proxies stand in front, or anyone could pick their own address (and rate-limit key).
    raw = env.get("TRUSTED_PROXY_HOPS", "").strip() or "0"
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be the number of proxies in front of the app (0-5), got {raw!r}")
    return int(raw)


def _check_production_secret(secret: str) -> None:
    """Production signs sessions with the key: it must be long and not one the world has seen."""
    hint = "generate one with python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if secret in PUBLISHED_SECRET_KEYS:
        raise ConfigError(f"SECRET_KEY is a published example key and cannot be used in production: {hint}")
    if len(secret.encode()) < PRODUCTION_SECRET_BYTES:
        raise ConfigError(f"SECRET_KEY must be at least {PRODUCTION_SECRET_BYTES} bytes in production: {hint}")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise ConfigError(f"{name} must be a whole number of days (0 keeps everything), got {raw!r}")
    return int(raw)


def driver_connect_args(pooler: str) -> dict[str, object]:
    """psycopg's connect arguments for every engine on the database (the app's, the replica's, the
    webhook intake's, the exports').

    Behind PgBouncer in transaction mode each transaction may run on another server connection,
    where a statement psycopg prepared (after 5 runs, by default) does not exist: prepare none.
    SQLAlchemy's compiled-statement cache is on the client and keeps working.
    """
    return {"prepare_threshold": None} if pooler == "pgbouncer" else {}


class Config:
    """Production defaults; values come from the process environment (and `.env`)."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAX_CONTENT_LENGTH = 21 * 1024 * 1024  # the CSV import allows 20 MB; the form adds a little
    WEBHOOK_MAX_BYTES = 256 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; stale tabs keep working
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = "koinonia:rl"
    # Exact windows: "at most 20 in any 10 seconds" holds across a window's edge (a fixed window
    # lets 40 through there). A few hits a minute per key make the sorted set cheap.
    RATELIMIT_STRATEGY = "moving-window"
    # Per user and endpoint for the composer's live checks, which fire as people type.
    COMPOSER_RATE_LIMIT = "120 per minute"
    # CSV downloads (a broadcast's recipients, a thread, the consent ledger) per signed-in user.
    EXPORT_RATE_LIMIT = "10 per minute"
    # "Send a test to me" texts a real phone and costs segments: a few a user, not a stream.
    TEST_SEND_RATE_LIMIT = "5 per 10 minutes"
    SLOW_QUERY_MS = 200
    # The longest a process keeps what app.cache.remember holds; every use also checks that
    # nothing it depends on moved, so these bound only what the registry cannot see (a SQL
    # console) and what moves with the clock (the dashboard's "today", a payment's grace days).
    IDENTITY_CACHE_SECONDS = 60
    DASHBOARD_CACHE_SECONDS = 10
    BANNER_CACHE_SECONDS = 60
    # Seconds between a mail job's attempts: len() retries after the first try, then a dead letter.
    MAIL_RETRY_INTERVALS = (30, 120, 600, 1800)
    TESTING = False

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        if environ is None:
            load_dotenv(override=False)  # the caller's environment wins over .env
            environ = os.environ
        for key, value in self.settings(environ).items():
            setattr(self, key, value)
        secure = self.KOINONIA_ENV == "production"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_SECURE = secure
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        pooled = driver_connect_args(self.DATABASE_POOLER)
        if pooled:
            options = type(self).SQLALCHEMY_ENGINE_OPTIONS
            self.SQLALCHEMY_ENGINE_OPTIONS = {**options, "connect_args": {**options.get("connect_args", {}), **pooled}}

    def settings(self, environ: Mapping[str, str]) -> dict[str, object]:
        return settings_from_env(environ)


class TestConfig(Config):
    """Config for pytest: test servers from TEST_DATABASE_URL / TEST_REDIS_URL."""

    TESTING = True
    MAIL_RETRY_INTERVALS = (0, 0, 0)  # retried at once, so a burst worker sees every attempt
    WTF_CSRF_ENABLED = False  # tests that exercise CSRF switch it back on
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 20}

    def settings(self, environ: Mapping[str, str]) -> dict[str, object]:
        env = dict(environ)
        env.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
        env["KOINONIA_ENV"] = "test"
        if env.get("TEST_DATABASE_URL"):
            env["DATABASE_URL"] = env["TEST_DATABASE_URL"]
        if env.get("TEST_REDIS_URL"):
            env["REDIS_URL"] = env["TEST_REDIS_URL"]
        env.setdefault("LOG_FORMAT", "console")
        return settings_from_env(env)
