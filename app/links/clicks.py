"""Counting clicks on tracked links without slowing the redirect, and limiting clients.

The redirect makes one Redis round trip (`admit`, a small Lua script): it counts the client
address in a fixed window (the rate limit) and, when under it, pushes one line for the click onto a
Redis list capped in length. Flask-Limiter's moving window would cost two round trips more on a
path whose budget is a few milliseconds. A line for a code that turns out not to exist is simply
matched by no row when drained. `drain`, a periodic job, adds the clicks to their codes' counters in one UPDATE per
batch. People and machines are counted apart: link-preview fetchers (iMessage's and others'),
crawlers, prefetches and HEAD requests get the same 302 but land in `bot_clicks`.

What a lost Redis costs: the clicks pushed and not yet drained (at most a drain interval's
worth), never a redirect. A batch taken from the list and not committed is lost with it too.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from limits import parse
from redis.exceptions import RedisError
from sqlalchemy import text

from app.extensions import db, rds

log = logging.getLogger(__name__)

KEY = "koinonia:link-clicks"
# A backlog past this (workers down for days under a flood) keeps the newest clicks only.
MAX_BACKLOG = 1_000_000
BATCH = 5000
MAX_BATCHES = 40

# Lower-case pieces of the User-Agent of link-preview fetchers, crawlers and scripts. A substring
# test, no regular expression: the header is the client's text.
BOT_MARKS = (
    "bot",  # Twitterbot, Slackbot, Discordbot, TelegramBot, LinkedInBot, Applebot, Googlebot, Facebot...
    "facebookexternalhit",  # iMessage's preview fetcher sends this and Twitterbot
    "whatsapp",
    "crawler",
    "spider",
    "preview",  # SkypeUriPreview, BingPreview, Google Web Preview
    "embedly",
    "pinterest",
    "vkshare",
    "snapchat",
    "headless",
    "curl/",
    "wget/",
    "python-",
    "go-http-client",
    "okhttp",
    "java/",
    "httpclient",
)
MAX_UA = 512


def is_bot(method: str, user_agent: str | None, purpose: str | None = None) -> bool:
    """A fetch no person made: HEAD, a prefetch or preview, no User-Agent, or a known machine's."""
    if method == "HEAD":
        return True
    if purpose and any(word in purpose.lower() for word in ("prefetch", "preview")):
        return True
    agent = (user_agent or "")[:MAX_UA].lower()
    return not agent or any(mark in agent for mark in BOT_MARKS)


# KEYS: the client's window counter, the click list. ARGV: window seconds, limit, click line, backlog.
_ADMIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
if n > tonumber(ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return 1
"""
_scripts: dict[int, object] = {}


def admit(code: str, bot: bool, client: str, rate: str) -> bool:
    """False when `client` is over `rate` ("300 per minute"); otherwise the click is queued.

    A Redis that is down costs the click and the limit, never the redirect.
    """
    limit = parse(rate)
    window = limit.get_expiry()
    now = int(time.time())
    redis = rds.client
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_ADMIT)
    try:
        return bool(
            script(
                keys=[f"koinonia:rl:link:{client}:{now // window}", KEY],
                args=[window, limit.amount, f"{code} {1 if bot else 0} {now}", MAX_BACKLOG],
            )
        )
    except RedisError:
        log.warning("link click not counted: Redis unavailable")
        return True


def drain() -> int:
    """Periodic: add queued clicks to their codes' counters; returns how many were taken."""
    taken = 0
    for _ in range(MAX_BATCHES):
        pipe = rds.client.pipeline(transaction=True)
        pipe.lrange(KEY, 0, BATCH - 1)
        pipe.ltrim(KEY, BATCH, -1)
        items, _ = pipe.execute()
        if not items:
            break
        apply(items)
        taken += len(items)
        if len(items) < BATCH:
            break
    return taken


def apply(items: list[bytes | str]) -> int:
    """Add a batch of queued clicks to link_codes in one statement; returns the codes touched."""
    totals: dict[str, list[int]] = {}
    for item in items:
        raw = item.decode() if isinstance(item, bytes) else item
        try:
            code, bot, at = raw.split(" ")
            seconds = int(at)
        except ValueError:
            continue
        row = totals.setdefault(code, [0, 0, seconds, seconds])
        row[1 if bot == "1" else 0] += 1
        if bot != "1":
            row[2], row[3] = min(row[2], seconds), max(row[3], seconds)
    if not totals:
        return 0
    codes = list(totals)

    def at(i: int) -> list[datetime]:
        return [datetime.fromtimestamp(totals[c][i], UTC) for c in codes]

    db.session.execute(
        text(
            """
            UPDATE link_codes c SET
              clicks = c.clicks + v.people,
              bot_clicks = c.bot_clicks + v.bots,
              first_clicked_at = CASE WHEN v.people > 0 THEN least(c.first_clicked_at, v.first_at)
                                      ELSE c.first_clicked_at END,
              last_clicked_at = CASE WHEN v.people > 0 THEN greatest(c.last_clicked_at, v.last_at)
                                     ELSE c.last_clicked_at END
            FROM unnest(CAST(:codes AS text[]), CAST(:people AS int[]), CAST(:bots AS int[]),
                        CAST(:first AS timestamptz[]), CAST(:last AS timestamptz[]))
                 AS v(code, people, bots, first_at, last_at)
            WHERE c.code = v.code
            """
        ),
        {
            "codes": codes,
            "people": [totals[c][0] for c in codes],
            "bots": [totals[c][1] for c in codes],
            "first": at(2),
            "last": at(3),
        },
    )
    db.session.commit()
    return len(codes)
