"""Only Skatteverket's published test identity numbers appear in the code, the tests, the demo data and the docs.

Any run of digits that parses as a valid personnummer or samordningsnummer (date and check digit) must be on the
published list in `caseapp/people/testnumbers.py`; a made-up number could belong to a real person.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from caseapp.people.personnummer import InvalidPersonnummer, parse
from caseapp.people.testnumbers import (
    PUBLISHED,
    PUBLISHED_PERSONNUMMER,
    PUBLISHED_SAMORDNINGSNUMMER,
    NotATestNumber,
    demo_number,
    published_numbers,
)

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("caseapp", "tests", "bench", "templates", "docs", "migrations")
SUFFIXES = {".py", ".html", ".md", ".txt", ".cfg", ".toml", ".ini", ".csv", ".json"}
# Digits with an optional separator, not inside a longer run of digits or letters.
# Not identity numbers: a demonstration of two machine timestamps glued together (tests/security/test_raw_database.py).
NOT_IDENTITIES = {"0412732026"}
NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{8}[-+]?[0-9]{4}|[0-9]{6}[-+]?[0-9]{4})(?![0-9A-Za-z])")


def _files():
    for top in SCANNED:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in SUFFIXES and ".venv" not in path.parts and "out" not in path.parts:
                yield path
    for name in ("README.md", "BENCHMARKS.md", "config.py", "wsgi.py", "pyproject.toml"):
        yield ROOT / name


def test_published_list_is_valid_and_of_the_right_kinds():
    for number in PUBLISHED_PERSONNUMMER:
        assert parse(number).kind == "personnummer", number
    for number in PUBLISHED_SAMORDNINGSNUMMER:
        assert parse(number).kind == "samordningsnummer", number
    assert len(PUBLISHED) >= 80


def test_demo_number_refuses_numbers_not_on_the_list():
    assert demo_number(date(2009, 1, 23), 238) == "200901232389"
    assert demo_number(date(1950, 12, 21), 238, samordning=True) == "195012812383"
    with pytest.raises(NotATestNumber):
        demo_number(date(1985, 3, 14), 982)  # valid check digit, but not a published test number
    assert len(set(published_numbers(20, born_after=date(2007, 1, 1)))) == 20


def test_no_identity_number_outside_the_published_list_in_the_tree():
    # A ten-digit form names no century: it counts as the published number it abbreviates.
    ten_digit_forms = {number[2:] for number in PUBLISHED}
    offenders = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in NUMBER.finditer(text):
            candidate = match.group()
            if candidate in NOT_IDENTITIES:
                continue
            try:
                ident = parse(candidate, today=date(2026, 12, 1))
            except InvalidPersonnummer:
                continue
            if ident.digits12 not in PUBLISHED and ident.digits12[2:] not in ten_digit_forms:
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {candidate}")
    assert not offenders, "identity numbers that are not Skatteverket's published test numbers:\n" + "\n".join(
        offenders)
