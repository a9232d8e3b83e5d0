"""Demo data for development and demonstrations (refused in production by the CLI).

Staff names here are invented. Client data added by later modules uses Skatteverket's test personnummer only.
Each domain registers a loader in DEMO_LOADERS; `load_demo` runs them in order and is safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from caseapp.accounts import operations as ops
from caseapp.accounts.models import Role, Unit
from caseapp.extensions import db
from caseapp.security import auth as authlib

DEMO_PASSWORD = "Vallingby-demo-2026"  # noqa: S105 (demo only; `caseapp demo` refuses in production)

DEMO_UNITS = [
    # code, name, colleagues read each other's cases
    ("unga-i-risk", "Unga i risk", True),
    ("lamna-kriminalitet", "Stöd för att lämna kriminalitet (med anhörigstöd)", True),
    ("relationsvaldsteamet", "Relationsvåldsteamet", False),
    ("faltassistenterna", "Fältassistenterna", True),
    ("platssamverkan", "Platssamverkan", True),
]

DEMO_USERS = [
    # username, name, role, unit code
    ("sara.lind", "Sara Lind", Role.HANDLAGGARE, "unga-i-risk"),
    ("ali.hassan", "Ali Hassan", Role.HANDLAGGARE, "unga-i-risk"),
    ("omar.haddad", "Omar Haddad", Role.HANDLAGGARE, "lamna-kriminalitet"),
    ("maria.berg", "Maria Berg", Role.RELATIONSVALDSTEAM, "relationsvaldsteamet"),
    ("nils.ek", "Nils Ek", Role.RELATIONSVALDSTEAM, "relationsvaldsteamet"),
    ("jonas.falk", "Jonas Falk", Role.FALTASSISTENT, "faltassistenterna"),
    ("eva.holm", "Eva Holm", Role.ENHETSCHEF, "unga-i-risk"),
    ("karin.nyberg", "Karin Nyberg", Role.ENHETSCHEF, "relationsvaldsteamet"),
    ("lars.strand", "Lars Strand", Role.LOGGGRANSKARE, None),
    ("admin", "Per Systemsson", Role.SYSTEMFORVALTARE, None),
]


@dataclass
class DemoLogin:
    username: str
    role: str
    unit: str
    password: str
    totp_secret: str


def load_units_and_users() -> list[DemoLogin]:
    units: dict[str, Unit] = {}
    for code, name, shares in DEMO_UNITS:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            unit = Unit(code=code, name=name, shares_cases=shares)
            db.session.add(unit)
        units[code] = unit
    db.session.flush()
    logins = []
    for username, name, role, unit_code in DEMO_USERS:
        user = ops.find_user(username)
        unit = units[unit_code] if unit_code else None
        if user is None:
            user, _ = ops.create_user(None, username=username, display_name=name, role=role, unit=unit,
                                      password=DEMO_PASSWORD, must_change_password=False)
            db.session.flush()
            ops.set_demo_totp(user, authlib.new_totp_secret())
        logins.append(DemoLogin(username, role.value, unit.name if unit else "-", DEMO_PASSWORD,
                                ops.totp_secret(user) or "(not enrolled)"))
    return logins


DEMO_LOADERS: list[Callable[[], None]] = []


def _load_demo_people() -> None:
    from caseapp.people.demo import load_demo_people

    load_demo_people()


DEMO_LOADERS.append(_load_demo_people)


def _load_demo_cases() -> None:
    from caseapp.cases.demo import load_demo_cases

    load_demo_cases()


DEMO_LOADERS.append(_load_demo_cases)


def _load_demo_referrals() -> None:
    from caseapp.referrals.demo import load_demo_referrals

    load_demo_referrals()


def _load_demo_protection() -> None:
    from caseapp.protection.demo import load_demo_protection

    load_demo_protection()


def _load_demo_violence() -> None:
    from caseapp.violence.demo import load_demo_violence

    load_demo_violence()


DEMO_LOADERS.extend([_load_demo_referrals, _load_demo_protection, _load_demo_violence])


def load_demo() -> list[DemoLogin]:
    logins = load_units_and_users()
    for loader in DEMO_LOADERS:
        loader()
    return logins
