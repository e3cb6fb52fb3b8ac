"""Which URLs outbound webhooks may call: https to public addresses; loopback http only in dev and test."""

from __future__ import annotations

import pytest

from app.outbound_webhooks.urls import UrlRefused, parse, resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.0.10/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://0.0.0.0/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:192.168.0.1]/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
    ],
)
def test_private_and_reserved_addresses_are_refused_everywhere(url):
    for environment in ("test", "production"):
        with pytest.raises(UrlRefused):
            resolve(url, environment)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/h", "https://127.0.0.1/h", "http://2130706433/", "http://localhost/"]
)
def test_loopback_only_outside_production(url):
    assert resolve(url, "test").addresses
    with pytest.raises(UrlRefused):
        resolve(url, "production")


def test_plain_http_to_a_public_address_is_refused_even_in_development():
    with pytest.raises(UrlRefused):
        resolve("http://8.8.8.8/", "development")


def test_a_public_https_address_is_taken_and_kept_whole():
    target = resolve("https://8.8.8.8:8443/hooks?church=1", "production")
    assert (target.host, target.port, target.path, target.addresses) == (
        "8.8.8.8",
        8443,
        "/hooks?church=1",
        ("8.8.8.8",),
    )
    assert target.url_for("8.8.8.8") == "https://8.8.8.8:8443/hooks?church=1"
    assert target.host_header == "8.8.8.8:8443"


@pytest.mark.parametrize(
    "url", ["", "not a url", "ftp://example.org/", "https://user:pw@example.org/", "https://", "https://x:99999/"]
)
def test_what_is_not_a_callable_url(url):
    with pytest.raises(UrlRefused):
        parse(url, "test")
