"""Tracked links in a broadcast's body: where they sit, what one recipient's text says instead,
and what the composer counts for them.

The links are the composer's own (`composer.links`, linear time), found again in the body as
written: a link inside a merge field's fallback is skipped, and so is one that a merge field
continues ("https://x.org/{first_name}"), which a short link would cut in two. Each recipient's
text carries `APP_BASE_URL/l/<code>` in place of each link; the codes are app.links'.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.broadcasts.composer import _MERGE, links
from app.links.codes import CODE_LENGTH, short_url

# More links than this in one text is not a message people click through; the rest stay as typed.
MAX_TRACKED = 10


@dataclass(frozen=True)
class Span:
    """One link of a body: where it is, as typed, and the URL a click is sent to."""

    start: int
    end: int
    text: str

    @property
    def url(self) -> str:
        """The exact link when it names its scheme; a bare domain ("grace.church/easter") as https."""
        if self.text[:8].lower().startswith(("https://", "http://")):
            return self.text
        return "https://" + self.text


def spans(body: str) -> list[Span]:
    """The links of `body` that tracking replaces, in order."""
    fields = [(m.start(), m.end()) for m in _MERGE.finditer(body)]
    found: list[Span] = []
    pos = 0
    for link in links(body):
        at = body.find(link, pos)
        # links() reads the body with merge fields blanked: an occurrence inside one is not it.
        while at >= 0 and (inside := next((end for start, end in fields if start <= at < end), None)):
            at = body.find(link, inside)
        if at < 0:
            continue
        end = at + len(link)
        pos = end
        if body[end : end + 1] == "{":
            continue
        found.append(Span(at, end, link))
        if len(found) == MAX_TRACKED:
            break
    return found


def base_url() -> str:
    """Where `/l/<code>` is served: APP_BASE_URL, without a trailing slash."""
    return str(current_app.config["APP_BASE_URL"]).rstrip("/")


def shortened(body: str, base: str) -> str:
    """The body as a recipient gets it with tracking on, for counting: each link a short link's length."""
    return personalise(body, [(s.start, s.end, i) for i, s in enumerate(spans(body))], {}, base, stand_in=True)


def personalise(
    body: str, places: list[tuple[int, int, int]], codes: dict[int, str], base: str, *, stand_in: bool = False
) -> str:
    """`body` with the link at each (start, end, position) replaced by its recipient's short link.

    A position without a code keeps the link as typed (never a broken short link); `stand_in`
    puts a placeholder code of the real length everywhere, for counting segments.
    """
    if not places:
        return body
    out: list[str] = []
    pos = 0
    for start, end, position in sorted(places):
        out.append(body[pos:start])
        code = "x" * CODE_LENGTH if stand_in else codes.get(position)
        out.append(short_url(base, code) if code else body[start:end])
        pos = end
    out.append(body[pos:])
    return "".join(out)
