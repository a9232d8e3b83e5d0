"""Casework fixtures: the intervention catalogue, people and cases made through the operations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.people import operations as people_ops
from caseapp.people.testnumbers import demo_number

PNR_ADULT = demo_number(date(1996, 3, 14), 238)
PNR_ADULT2 = demo_number(date(1995, 10, 9), 239)
PNR_CHILD = demo_number(date(2012, 1, 25), 238)
PNR_CHILD2 = demo_number(date(2011, 11, 24), 239)


@pytest.fixture()
def catalogue(db):
    ops.ensure_intervention_catalogue()
    db.session.commit()


@pytest.fixture()
def person_factory(db):
    """person_factory(actor, identity=..., given_name=..., family_name=...) -> Person (committed)."""

    def factory(actor, identity: str = PNR_ADULT, given_name: str = "Anna", family_name: str = "Andersson",
                **fields):
        data = people_ops.PersonData(given_name=given_name, family_name=family_name, identity=identity, **fields)
        person = people_ops.register_person(actor, data, unit_id=actor.unit_id, confirm_duplicate=True)
        _db.session.commit()
        return person

    return factory


@pytest.fixture()
def case_factory(db, person_factory):
    """case_factory(actor, person=None, focus=..., intake=..., received_on=...) -> Case (committed)."""

    def factory(actor, person=None, *, focus=FocusArea.LAMNA_KRIMINALITET, intake=Intake.ANSOKAN,
                received_on: date | None = None, summary: str = "Vill ha stöd.", **person_fields):
        person = person or person_factory(actor, **person_fields)
        case = ops.open_case(actor, person, ops.NewCase(focus.value, intake.value,
                                                        received_on or ops.today() - timedelta(days=3), summary),
                             unit_id=actor.unit_id)
        _db.session.commit()
        return case

    return factory


@pytest.fixture()
def team(make_user):
    """Staff in two units: "unga" (sharing) and "rvt" (not sharing)."""
    return {
        "unga": make_user(Role.HANDLAGGARE, "unga"),
        "unga2": make_user(Role.HANDLAGGARE, "unga"),
        "unga_chef": make_user(Role.ENHETSCHEF, "unga"),
        "rvt": make_user(Role.RELATIONSVALDSTEAM, "rvt"),
        "rvt2": make_user(Role.RELATIONSVALDSTEAM, "rvt"),
        "rvt_chef": make_user(Role.ENHETSCHEF, "rvt"),
        "admin": make_user(Role.SYSTEMFORVALTARE, None),
        "auditor": make_user(Role.LOGGGRANSKARE, None),
    }
