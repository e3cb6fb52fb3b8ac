import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, settings_from_env
from app.notifications.vapid import new_key_pair

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "SECRET_KEY": "a-long-enough-secret-key",
    "DATABASE_URL": "postgresql://u:p@localhost:5432/db",
    "REDIS_URL": "redis://localhost:6379/0",
    "KOINONIA_ENV": "development",
}


def test_mail_settings_are_read_with_working_defaults():
    from app.mail import smtp_settings

    assert settings_from_env(BASE)["SMTP_URL"] is None
    assert settings_from_env(BASE)["MAIL_FROM"] == "Koinonia <no-reply@127.0.0.1>"
    url = "smtp://api%40key:p%3Ass@smtp.example.org:587?starttls=1"
    settings = settings_from_env({**BASE, "SMTP_URL": url, "MAIL_FROM": "Grace <hi@grace.example>"})
    assert settings["MAIL_FROM"] == "Grace <hi@grace.example>"
    parsed = smtp_settings(settings["SMTP_URL"])
    assert (parsed.host, parsed.port, parsed.username, parsed.password, parsed.starttls) == (
        "smtp.example.org",
        587,
        "api@key",
        "p:ss",
        True,
    )
    assert smtp_settings("smtp://127.0.0.1:1025").starttls is False


def test_valid_environment_normalises_the_database_driver():
    settings = settings_from_env(BASE)
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@localhost:5432/db"
    assert settings["TELNYX_API_BASE"] == "https://api.telnyx.com/v2"
    assert settings["PCO_API_BASE"] == "https://api.planningcenteronline.com"
    assert settings["TRUSTED_PROXY_HOPS"] == 0  # X-Forwarded-For is not read unless proxies are declared


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a postgresql:// URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL must be a redis:// URL"),
        ({"SMS_PROVIDER": "twilio"}, "SMS_PROVIDER must be one of simulator, telnyx"),
        ({"SMS_PROVIDER": "telnyx"}, "TELNYX_API_KEY is required"),
        ({"TELNYX_PUBLIC_KEY": "not-base64!"}, "TELNYX_PUBLIC_KEY must be the base64"),
        ({"STRIPE_PRICE_IDS": "starter"}, "STRIPE_PRICE_IDS must be plan=price pairs"),
        ({"PCO_API_BASE": "api.planningcenteronline.com"}, "PCO_API_BASE must be an http"),
        ({"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS must be the number of proxies"),
        ({"TRUSTED_PROXY_HOPS": "yes"}, "TRUSTED_PROXY_HOPS must be the number of proxies"),
        ({"SMTP_URL": "http://mail.example.org:25"}, "SMTP_URL must be smtp://"),
        ({"SMTP_URL": "smtp://mail.example.org"}, "SMTP_URL must be smtp://"),
        ({"SMTP_URL": "smtp://mail.example.org:port"}, "SMTP_URL must be smtp://"),
        ({"SMTP_URL": "smtp://mail.example.org:587?tls=yes"}, "SMTP_URL must be smtp://"),
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM must be an email address"),
        ({"LINK_RATE_LIMIT": "lots"}, "LINK_RATE_LIMIT must be a rate"),
    ],
)
def test_bad_settings_name_the_variable(override, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_env({**BASE, **override})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a postgresql:// URL"),
    ],
)
@pytest.mark.parametrize(
    "entry",
    [["-m", "flask", "--app", "wsgi", "routes"], ["worker.py"]],
    ids=["flask", "worker"],
)
def test_start_up_stops_with_one_clear_line(env, expected, entry):
    """The real entry points (web CLI, RQ worker) exit 1 with one line naming the variable."""
    environ = {"PATH": "/usr/bin:/bin", **BASE, **env}
    proc = subprocess.run(
        [sys.executable, *entry],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"koinonia: configuration error: {expected}" + lines[0].split(expected, 1)[1]]
    assert "Traceback" not in proc.stderr


def test_production_accepts_a_long_unpublished_secret_key():
    settings = settings_from_env({**BASE, "KOINONIA_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(32)})
    assert settings["KOINONIA_ENV"] == "production"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("a-long-enough-secret-key", "SECRET_KEY is a published example key"),
        ("docker-dev-secret-key-change-me-0123456789", "SECRET_KEY is a published example key"),
        (secrets.token_hex(31)[:31], "SECRET_KEY must be at least 32 bytes in production"),
    ],
)
def test_production_refuses_short_or_published_secret_keys(secret, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_env({**BASE, "KOINONIA_ENV": "production", "SECRET_KEY": secret})


def test_every_secret_key_the_repository_spells_out_is_refused_in_production():
    """A key committed anywhere (compose, examples, tests, benches) is public: production refuses it."""
    pattern = re.compile(r"""SECRET_KEY["']?\s*[:=(,]\s*(?:\$\{SECRET_KEY:-)?["']?([\w.~-]{16,})""")
    spelled = {"bench-secret-key-0123456789abcdef"}  # bench/dashboard.py names it SECRET
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        path = ROOT / name
        if path.suffix in (".py", ".yml", ".yaml", ".sh", ".example", ".md", ".toml") and path.is_file():
            spelled.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    assert spelled, "the scan found no keys: the pattern no longer matches how keys are written"
    for secret in spelled:
        with pytest.raises(ConfigError):
            settings_from_env({**BASE, "KOINONIA_ENV": "production", "SECRET_KEY": secret})


def test_push_is_off_without_vapid_keys_and_on_with_a_matching_pair():
    assert settings_from_env(BASE)["VAPID_PRIVATE_KEY"] is None
    public, private = new_key_pair()
    vapid = {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:ops@example.org"}
    settings = settings_from_env({**BASE, **vapid})
    assert (settings["VAPID_PUBLIC_KEY"], settings["VAPID_PRIVATE_KEY"]) == (public, private)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"VAPID_PUBLIC_KEY": ""}, "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together"),
        ({"VAPID_PRIVATE_KEY": "c2hvcnQ"}, "VAPID_PRIVATE_KEY must be the base64url of a 32-byte"),
        ({"VAPID_PUBLIC_KEY": "other"}, "VAPID_PUBLIC_KEY must be the base64url public key of VAPID_PRIVATE_KEY"),
        ({"VAPID_SUBJECT": "ops@example.org"}, "VAPID_SUBJECT must be a mailto: or https://"),
    ],
)
def test_bad_vapid_settings_name_the_variable(change, message):
    public, private = new_key_pair()
    env = {**BASE, "VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private, "VAPID_SUBJECT": "mailto:a@b.org"}
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        settings_from_env({**env, **change})
