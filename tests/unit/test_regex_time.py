"""Every regular expression Koinonia runs over text people (or providers) send finishes in linear time.

Each pattern runs over 100 KB inputs built to make backtracking patterns explode. The bound is
generous: a linear pattern takes milliseconds here, a super-linear one takes minutes.
"""

from __future__ import annotations

import re
import time
from functools import partial
from pathlib import Path

import pytest

from app import media, merge
from app.broadcasts import composer, tracked_links
from app.delivery import simmail, simnumbers, simstate
from app.integrations import forms as integration_forms
from app.keywords import card_consent
from app.people import custom_fields, field_definitions, phones, queries
from app.people.imports import parsing
from app.provisioning import slugify
from app.security import csvfiles, masking

APP = Path(__file__).resolve().parents[2] / "app"
SIZE = 100_000
BOUND = 0.5  # seconds

PATTERNS = {
    "composer._LINK": composer._LINK,
    "composer._EXPLICIT_START": composer._EXPLICIT_START,
    "composer._TLD": composer._TLD,
    "composer._PATH": composer._PATH,
    "composer._MERGE": composer._MERGE,
    "composer._WORD": composer._WORD,
    "composer.STOP_HINT": composer.STOP_HINT,
    "merge.MERGE_RE": merge.MERGE_RE,
    "merge.LOOKS_LIKE_FIELD_RE": merge.LOOKS_LIKE_FIELD_RE,
    "masking.PHONE_RE": masking.PHONE_RE,
    "masking.EMAIL_RE": masking.EMAIL_RE,
    "queries._PHONE_ONLY": queries._PHONE_ONLY,
    "phones._DIGITS": phones._DIGITS,
    "phones._NANP_E164": phones._NANP_E164,
    "parsing.GROUP_SPLIT": parsing.GROUP_SPLIT,
    "parsing.EMAIL": parsing.EMAIL,
    "simstate.E164_RE": simstate.E164_RE,
    "simnumbers.HELD_RANGE": simnumbers.HELD_RANGE,
    "simmail.URL_RE": simmail.URL_RE,
    "csvfiles.E164": csvfiles.E164,
    "card_consent._YES": card_consent._YES,
    # A string WTForms' Regexp compiles (the Planning Center token fields).
    "integration_forms.TOKEN_PART": re.compile(integration_forms.TOKEN_PART),
    "custom_fields.KEY_RE": custom_fields.KEY_RE,
    "media._STORED": media._STORED,
}

# Functions that build or apply a pattern inline over user text.
FUNCTIONS = {
    "composer.links": composer.links,
    "composer.shorteners": composer.shorteners,
    "composer.mostly_caps": composer.mostly_caps,
    "composer.names_church": partial(composer.names_church, church_name="Grace Community Church"),
    "parsing.looks_like_email": parsing.looks_like_email,
    "parsing.detect_delimiter": parsing.detect_delimiter,
    "parsing.header_key": parsing.header_key,
    "masking.mask_text": masking.mask_text,
    "slugify": slugify,
    "simmail.linkify": simmail.linkify,
    "field_definitions.slugify": field_definitions.slugify,
    "tracked_links.spans": tracked_links.spans,
}

UNITS = [
    "a",
    "a.",
    "a-",
    ".a",
    "1.",
    "a.1",
    "-a.",
    "é-a.",
    "www.",
    "a.www",
    "http",
    "https:/",
    "a.https",
    "a/",
    "{",
    "{a|",
    "{ first_name|",
    "{a}",
    "@",
    "a@",
    "a@a.",
    "+1",
    "+",
    "1",
    " ",
    '"',
    "reply ",
    "A ",
    "x.co/",
]


def pathological() -> list[str]:
    """Each unit repeated to 100 KB, alone and with a tail that makes a near-miss fail at the very end."""
    texts = []
    for unit in UNITS:
        body = unit * (SIZE // len(unit))
        texts += [body, "x@" + body + "@", "{first_name|" + body, "grace." + body + "!"]
    texts.append("x@" + "." * SIZE + "@")
    return texts


TEXTS = pathological()


def _slowest(run) -> tuple[float, str]:
    worst = (0.0, "")
    for text in TEXTS:
        start = time.perf_counter()
        run(text)
        took = time.perf_counter() - start
        worst = max(worst, (took, text[:24]))
    return worst


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_runs_in_linear_time(name):
    pattern = PATTERNS[name]

    def run(text: str) -> None:
        pattern.search(text)
        pattern.fullmatch(text)
        pattern.sub("", text)

    took, text = _slowest(run)
    assert took < BOUND, f"{name} took {took:.2f}s on {text!r}…"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runs_in_linear_time(name):
    took, text = _slowest(FUNCTIONS[name])
    assert took < BOUND, f"{name} took {took:.2f}s on {text!r}…"


def test_every_module_pattern_is_listed():
    """A new module-level pattern must join PATTERNS, so it is timed too."""
    listed = {name.rsplit(".", 1)[1] for name in PATTERNS}
    for path in APP.rglob("*.py"):
        for name in re.findall(r"(?m)^(\w+) = re\.compile\(", path.read_text()):
            assert name in listed, f"{path.relative_to(APP)}: {name} is not in PATTERNS"
