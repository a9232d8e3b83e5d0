"""Personnummer / samordningsnummer parsing. Only Skatteverket-style test numbers (serials 980-999)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from caseapp.people.personnummer import Identity, InvalidPersonnummer, luhn_check_digit, normalise, parse

TODAY = date(2025, 6, 15)


def make(born: date, serial: int = 982, *, samordning: bool = False) -> str:
    """A valid 12-digit number in Skatteverket's test range (birth number 980-999)."""
    day = born.day + (60 if samordning else 0)
    nine = f"{born:%y%m}{day:02d}{serial:03d}"
    return f"{born:%Y%m}{day:02d}{serial:03d}{luhn_check_digit(nine)}"


def with_check(first11: str) -> str:
    """Append the check digit to YYYYMMDDNNN (for numbers with an invalid date but a valid check digit)."""
    return first11 + str(luhn_check_digit(first11[2:]))


# ------------------------------------------------------------------------------------------ known numbers


def test_luhn() -> None:
    assert luhn_check_digit("900101980") == 2
    assert luhn_check_digit("080903238") == 6
    for bad in ("12345678", "1234567890", "12345678a", "١٢١٢١٢١٢١"):
        with pytest.raises(ValueError):
            luhn_check_digit(bad)


@pytest.mark.parametrize(
    "text",
    ["18900101-9802", "189001019802", "900101+9802", " 18900101-9802\n", "\t900101+9802 "],
)
def test_published_test_number_over_100(text: str) -> None:
    ident = parse(text, today=TODAY)
    assert ident == Identity("189001019802", "personnummer", date(1890, 1, 1))
    assert ident.sex == "F"
    assert ident.formatted() == str(ident) == "18900101-9802"
    assert ident.short(TODAY) == "900101+9802"
    assert ident.digits10 == "9001019802"


def test_ten_digits_without_plus_is_younger_than_100() -> None:
    assert parse("120125-2382", today=TODAY).digits12 == "201201252382"
    assert parse("1201252382", today=TODAY).digits12 == "201201252382"


def test_female_child() -> None:
    ident = parse("20080903-2386", today=TODAY)
    assert (ident.sex, ident.kind, ident.birth_date) == ("F", "personnummer", date(2008, 9, 3))
    assert ident.age(TODAY) == 16 and ident.is_child(TODAY)
    assert ident.age(date(2026, 9, 2)) == 17 and ident.is_child(date(2026, 9, 2))
    assert ident.age(date(2026, 9, 3)) == 18 and not ident.is_child(date(2026, 9, 3))
    assert parse("080903-2386", today=TODAY) == ident


def test_samordningsnummer() -> None:
    number = "194803722398"  # published test samordningsnummer
    assert number[6:8] == "72"
    ident = parse(number, today=TODAY)
    assert ident.kind == "samordningsnummer"
    assert ident.birth_date == date(1948, 3, 12)
    assert ident.digits12 == number  # stored as written, with day + 60
    assert ident.sex == "M"
    assert parse(f"{number[2:8]}-{number[8:]}", today=TODAY) == ident


def test_normalise() -> None:
    assert normalise("900101+9802", today=TODAY) == "189001019802"


# -------------------------------------------------------------------------------------------- centuries


def test_plus_in_the_year_of_turning_100() -> None:
    # born 1925-12-31: in 2025 (before the birthday) the official form already uses '+'
    number = make(date(1925, 12, 31), 985)
    ident = parse(number, today=TODAY)
    assert ident.short(TODAY) == f"251231+{number[8:]}"
    assert parse(ident.short(TODAY), today=TODAY) == ident
    assert ident.age(TODAY) == 99
    # a '-' kept by mistake still resolves to the only possible (past) date
    assert parse(f"251231-{number[8:]}", today=TODAY) == ident


def test_birthday_later_this_year_means_last_century_for_dash() -> None:
    born = date(1925, 12, 1)
    number = make(born, 990)
    assert parse(f"{number[2:8]}-{number[8:]}", today=date(2024, 6, 1)).birth_date == born


def test_today_boundary() -> None:
    number = make(TODAY, 983)
    assert parse(number[2:], today=TODAY).birth_date == TODAY
    assert parse(number[2:], today=TODAY - timedelta(days=1)).birth_date == date(1925, 6, 15)


def test_leap_day() -> None:
    ident = parse(make(date(2008, 2, 29), 984), today=TODAY)
    # lag (1930:173) 1 §: in a common year the birthday falls on the month's last day, 28 February
    assert ident.age(date(2026, 2, 27)) == 17 and ident.is_child(date(2026, 2, 27))
    assert ident.age(date(2026, 2, 28)) == 18 and not ident.is_child(date(2026, 2, 28))
    assert ident.age(date(2028, 2, 28)) == 19  # leap year: the real birthday is the next day
    assert ident.age(date(2028, 2, 29)) == 20
    assert parse(make(date(2008, 2, 29), 984)[2:], today=TODAY) == ident


# ----------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("19121212-1213", "Kontrollsiffran stämmer inte."),
        ("", "Fel format"),
        ("19121212_1212", "Fel format"),
        ("1912121-21212", "Fel format"),
        ("121212--1212", "Fel format"),
        ("19121212+1212", "tiosiffriga"),
        ("١٩١٢١٢١٢١٢١٢", "Fel format"),  # non-ASCII digits
        ("１９１２１２１２１２１２", "Fel format"),
        (with_check("19990230982"), "Datumet finns inte."),  # 30 February
        (with_check("20230229982"), "Datumet finns inte."),  # not a leap year
        (with_check("19991301982"), "Datumet finns inte."),
        (with_check("19990100982"), "Datumet finns inte."),
        (with_check("19990145982"), "Datumet finns inte."),  # day 32-60 is neither kind
        (with_check("19990192982"), "Datumet finns inte."),  # samordning day 32
        (with_check("20250616982"), "framtiden"),
        (with_check("18000101982"), "orimligt"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidPersonnummer, match=message):
        parse(text, today=TODAY)


def test_invalid_is_value_error_and_non_str() -> None:
    assert issubclass(InvalidPersonnummer, ValueError)
    with pytest.raises(InvalidPersonnummer):
        parse(None, today=TODAY)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- property

numberish = st.from_regex(r"\s*[0-9]{0,3}[0-9]{6}[-+ ]?[0-9]{3,5}\s*", fullmatch=True)


@given(st.one_of(st.text(), numberish), st.dates(date(1, 1, 1), date(9999, 12, 31)))
def test_any_string_raises_only_invalid_personnummer(text: str, today: date) -> None:
    try:
        ident = parse(text, today=today)
    except InvalidPersonnummer as exc:
        assert str(exc)
        return
    assert len(ident.digits12) == 12 and ident.birth_date <= today


@given(
    born=st.dates(date(1880, 1, 1), date(2025, 12, 31)),
    serial=st.integers(980, 999),
    samordning=st.booleans(),
    days_later=st.integers(0, 120 * 366),
)
def test_valid_numbers_round_trip_through_every_form(
    born: date, serial: int, samordning: bool, days_later: int
) -> None:
    today = born + timedelta(days=days_later)
    assume(today.year - born.year < 200)
    number = make(born, serial, samordning=samordning)
    ident = parse(number, today=today)
    assert ident.digits12 == number
    assert ident.birth_date == born
    assert ident.kind == ("samordningsnummer" if samordning else "personnummer")
    assert ident.sex == ("M" if serial % 2 else "F")
    short = ident.short(today)
    forms = [number, ident.formatted(), f"  {number} ", short, f" {short}\t"]
    if "-" in short:
        forms.append(short.replace("-", ""))
    for form in forms:
        assert parse(form, today=today).digits12 == number, form
    assert ident.age(today) >= 0
