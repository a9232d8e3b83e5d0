"""Skatteverket's published test identity numbers: the only identity numbers allowed in tests, fixtures, demo
data and benchmark data (a selection, copied digit for digit from Skatteverket's open data set of
testpersonnummer and test-samordningsnummer).

Why a list and not a rule: the published numbers do not follow one simple pattern. Numbers made up with the birth
numbers 980-999 are not safe: before 1990 those birth numbers were given to real people (born abroad), and the
published list uses other birth numbers for most years (238/239 from the 1990s on). `demo_number` refuses any
number that is not on this list, and `tests/test_test_numbers.py` fails when a valid identity number that is not
on it appears anywhere in the code, the tests or the demo data. To add numbers, copy them from Skatteverket's
published list only.
"""

from __future__ import annotations

from datetime import date

# 12 digits each: YYYYMMDDNNNC.
PUBLISHED_PERSONNUMMER = frozenset({
    "189001019802", "189001029819", "189003149805", "189006159819", "199503232390", "199503242381",
    "199504052383", "199505122391", "199506152397", "199507042381", "199508222396", "199509132396",
    "199510092399", "199511142391", "199512052383", "199601112395", "199602132384", "199603142382",
    "199604122391", "199605132381", "199606202381", "199607112399", "199608122397", "199504212383",
    "199506262386", "199509272390", "199602292386", "199605302398", "200808262380", "200808262398", "200809032386",
    "200809012388", "200809152382", "200809152390", "200810102392", "200811102383", "200811102391",
    "200812102382", "200812102390", "200901072389", "200901072397", "200901232389", "200901232397",
    "200904082385", "200906282389", "200906282397", "201001012382", "201001012390", "201001052388",
    "201001052396", "201002032389", "201002032397", "201007082389", "201010012381", "201010012399",
    "201102012380", "201102012398", "201105192387", "201105232399", "201106092388", "201108152388",
    "201111242390", "201201252382", "201201262399", "201203092398", "201204052383", "201301092381",
    "201301092399", "201303142390", "201305062380", "201306122399", "201308082385", "201310012388",
    "201808152399", "201810122380", "201901092393", "201903142394", "201906122393", "201909042390",
    "201912022389",
})
# Samordningsnummer (day of birth + 60).
PUBLISHED_SAMORDNINGSNUMMER = frozenset({
    "195004772389", "194803722398", "194606802397", "194505722399", "194103722395", "195012812383",
    "202212852392", "202301622383", "202305642387", "202303752394",
})
PUBLISHED = PUBLISHED_PERSONNUMMER | PUBLISHED_SAMORDNINGSNUMMER
_SORTED_PERSONNUMMER = tuple(sorted(PUBLISHED_PERSONNUMMER))


class NotATestNumber(ValueError):
    """The number is not one of Skatteverket's published test numbers."""


def is_published_test_number(twelve_digits: str) -> bool:
    return twelve_digits in PUBLISHED


def demo_number(born: date, birth_number: int, *, samordning: bool = False) -> str:
    """The published test number for this birth date and birth number (NNN), as 12 digits; raises
    `NotATestNumber` for any combination that is not on the published list."""
    from caseapp.people.personnummer import luhn_check_digit

    day = born.day + (60 if samordning else 0)
    nine = f"{born:%y%m}{day:02d}{birth_number:03d}"
    number = f"{born:%Y%m}{day:02d}{birth_number:03d}{luhn_check_digit(nine)}"
    if number not in PUBLISHED:
        raise NotATestNumber(f"{number} is not one of Skatteverket's published test numbers "
                             "(pick one from caseapp/people/testnumbers.py)")
    return number


def synthetic_identity(i: int) -> tuple[str, bool]:
    """(identity, is_reservnummer) for the i-th generated person of a benchmark data set: the published test
    numbers first, then local reservnummer ("BENCH-0000123", no national standard), so that no generated person
    can carry a real person's number however large the data set."""
    numbers = _SORTED_PERSONNUMMER
    if i < len(numbers):
        return numbers[i], False
    return f"BENCH-{i:07d}", True


def published_numbers(count: int, *, born_after: date | None = None, born_before: date | None = None) -> list[str]:
    """`count` distinct published personnummer (sorted), optionally within a range of birth dates."""
    chosen = []
    for number in sorted(PUBLISHED_PERSONNUMMER):
        born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
        if (born_after is None or born > born_after) and (born_before is None or born < born_before):
            chosen.append(number)
    if len(chosen) < count:
        raise NotATestNumber(f"only {len(chosen)} published test numbers in that range, {count} wanted")
    return chosen[:count]
