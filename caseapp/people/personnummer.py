"""Swedish identity numbers (personnummer and samordningsnummer): parsing, validation, normalisation.

Accepted written forms (surrounding whitespace ignored)::

    YYMMDD-NNNC   YYMMDD+NNNC (100 years or older)   YYMMDDNNNC   YYYYMMDDNNNC   YYYYMMDD-NNNC

C is the Luhn check digit over YYMMDDNNN (weights 2,1,2,1,...). A samordningsnummer has the day of birth
plus 60. Reservnummer have no national standard and are not parsed here: callers store them with a flag.
Pure functions, no Flask import.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "Identity",
    "InvalidPersonnummer",
    "luhn_check_digit",
    "normalise",
    "parse",
]

Kind = Literal["personnummer", "samordningsnummer"]

_FORMAT = re.compile(r"(?:([0-9]{2}))?([0-9]{6})([-+]?)([0-9]{4})", re.ASCII)
_MSG_FORMAT = "Fel format: ange ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN."
_MSG_CHECK = "Kontrollsiffran stämmer inte."
_MSG_DATE = "Datumet finns inte."
_MSG_FUTURE = "Födelsedatumet ligger i framtiden."
_MSG_PLUS12 = "Fel format: '+' används bara i den tiosiffriga formen ÅÅMMDD+NNNN."
_MSG_OLD = "Födelseåret är orimligt."
_MIN_YEAR = 1850  # nobody alive when personnummer were introduced (1947) was born earlier
_SAMORDNING_OFFSET = 60


class InvalidPersonnummer(ValueError):
    """The text is not a valid identity number; the message (Swedish) says why and can be shown to users."""


def luhn_check_digit(nine_digits: str) -> int:
    """Luhn check digit over the nine digits YYMMDDNNN (weights 2,1,2,1,...)."""
    if len(nine_digits) != 9 or not nine_digits.isascii() or not nine_digits.isdigit():
        raise ValueError("expected exactly nine ASCII digits")
    total = 0
    for i, ch in enumerate(nine_digits):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def _age(born: date, on: date) -> int:
    """Completed years on `on`.

    Someone born on 29 February turns a year older on 28 February in common years: lag (1930:173) om
    beräkning av lagstadgad tid, 1 §, takes the month's last day when the corresponding day does not exist.
    """
    birthday = (born.month, born.day)
    if birthday == (2, 29) and not calendar.isleap(on.year):
        birthday = (2, 28)
    return on.year - born.year - ((on.month, on.day) < birthday)


@dataclass(frozen=True, slots=True)
class Identity:
    """A validated identity number."""

    digits12: str
    kind: Kind
    birth_date: date

    @property
    def sex(self) -> Literal["M", "F"]:
        """Legal sex as encoded: odd third birth-number digit (9th of the 10-digit form) means male."""
        return "M" if int(self.digits12[10]) % 2 else "F"

    @property
    def digits10(self) -> str:
        """YYMMDDNNNC, without century (ambiguous on its own: prefer `digits12`)."""
        return self.digits12[2:]

    def formatted(self) -> str:
        """The 12-digit display form 'YYYYMMDD-NNNC'."""
        return f"{self.digits12[:8]}-{self.digits12[8:]}"

    def short(self, today: date | None = None) -> str:
        """The 10-digit form 'YYMMDD-NNNC', with '+' from the year the person turns 100."""
        today = today or date.today()
        sep = "+" if today.year - self.birth_date.year >= 100 else "-"
        return f"{self.digits12[2:8]}{sep}{self.digits12[8:]}"

    def age(self, on: date) -> int:
        """Age in completed years on `on`."""
        return _age(self.birth_date, on)

    def is_child(self, on: date) -> bool:
        """Under 18 on `on`."""
        return self.age(on) < 18

    def __str__(self) -> str:
        return self.formatted()


def _infer_year(yy: int, month: int, day: int, plus: bool, today: date) -> int:
    """Century for a 10-digit number.

    '+' is used from the (calendar) year the person turns 100, so with '+' the birth year is the latest one
    ending in `yy` that is at least 100 years before this year. Otherwise it is the latest year ending in `yy`
    whose birthday is not after `today` (age 0-99; this also accepts a '-' wrongly kept in the year someone
    turns 100, before the birthday).
    """
    if plus:
        last = today.year - 100
        return last - (last - yy) % 100
    year = today.year - (today.year - yy) % 100
    if year == today.year and (month, day) > (today.month, today.day):
        year -= 100
    return year


def parse(text: str, *, today: date | None = None) -> Identity:
    """Parse and validate a personnummer or samordningsnummer; raises `InvalidPersonnummer` (Swedish message).

    `today` (default: the current date) decides the century of 10-digit forms and rejects future dates.
    """
    if not isinstance(text, str):
        raise InvalidPersonnummer(_MSG_FORMAT)
    today = today or date.today()
    match = _FORMAT.fullmatch(text.strip())
    if match is None:
        raise InvalidPersonnummer(_MSG_FORMAT)
    century, yymmdd, sep, tail = match.groups()
    month, day_written = int(yymmdd[2:4]), int(yymmdd[4:6])
    if luhn_check_digit(yymmdd + tail[:3]) != int(tail[3]):
        raise InvalidPersonnummer(_MSG_CHECK)

    kind: Kind = "personnummer"
    day = day_written
    if day_written > _SAMORDNING_OFFSET:
        kind, day = "samordningsnummer", day_written - _SAMORDNING_OFFSET
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise InvalidPersonnummer(_MSG_DATE)

    if century is not None:
        if sep == "+":
            raise InvalidPersonnummer(_MSG_PLUS12)
        year = int(century + yymmdd[:2])
    else:
        year = _infer_year(int(yymmdd[:2]), month, day, sep == "+", today)
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidPersonnummer(_MSG_DATE) from None
    if born > today:
        raise InvalidPersonnummer(_MSG_FUTURE)
    if year < _MIN_YEAR:
        raise InvalidPersonnummer(_MSG_OLD)
    return Identity(digits12=f"{year:04d}{yymmdd[2:]}{tail}", kind=kind, birth_date=born)


def normalise(text: str, *, today: date | None = None) -> str:
    """The 12-digit form YYYYMMDDNNNC of a valid number (what is stored and blind-indexed)."""
    return parse(text, today=today).digits12
