"""Fixtures for the people registry: register people through the operations, as a given user."""

from __future__ import annotations

from datetime import date

import pytest

from caseapp.accounts.models import Role
from caseapp.people import operations as ops
from caseapp.people.testnumbers import demo_number


def number(born: date, serial: int, *, samordning: bool = False) -> str:
    """A published test number (caseapp.people.testnumbers): refuses any other."""
    return demo_number(born, serial, samordning=samordning)


PNR_ANNA = number(date(1996, 3, 14), 238)  # female
PNR_BERTIL = number(date(1995, 10, 9), 239)  # male
PNR_CHILD = number(date(2012, 1, 25), 238)


@pytest.fixture()
def staff(make_user):
    """One user per role: case workers in "unga" and "rvt", a manager of "unga", an admin, an auditor."""
    return {
        "unga": make_user(Role.HANDLAGGARE, "unga").user,
        "unga2": make_user(Role.HANDLAGGARE, "unga").user,
        "chef": make_user(Role.ENHETSCHEF, "unga").user,
        "rvt": make_user(Role.RELATIONSVALDSTEAM, "rvt").user,
        "admin": make_user(Role.SYSTEMFORVALTARE, None).user,
        "auditor": make_user(Role.LOGGGRANSKARE, None).user,
    }


@pytest.fixture()
def register(db, staff):
    """register(actor_key="unga", **fields) -> Person, committed."""

    def factory(actor_key: str = "unga", *, confirm_duplicate: bool = False, **fields):
        actor = staff[actor_key]
        defaults = {"given_name": "Anna", "family_name": "Andersson", "identity": PNR_ANNA}
        data = ops.PersonData(**{**defaults, **fields})
        person = ops.register_person(actor, data, unit_id=actor.unit_id, confirm_duplicate=confirm_duplicate)
        db.session.commit()
        return person

    return factory
