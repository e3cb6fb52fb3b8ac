"""Helpers for the account pages: links out of mail that arrived in the sink."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.conftest import deliver_mail


def mailed_link(mailbox, to: str, path_prefix: str) -> str:
    """Deliver queued mail and return the path of the last link to `path_prefix` mailed to `to`."""
    deliver_mail()
    found = mailbox.wait_for(to, timeout=5)
    assert found, f"no mail for {to}"
    links = re.findall(r"https?://\S+", found[-1]["text"])
    paths = [urlsplit(link).path for link in links if urlsplit(link).path.startswith(path_prefix)]
    assert paths, f"no {path_prefix} link in {found[-1]['text']!r}"
    return paths[-1]
