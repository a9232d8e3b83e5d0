"""Referral fixtures: the partner list, a case with a person, consents and referrals made through the operations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from caseapp.cases import operations as case_ops
from caseapp.extensions import db as _db
from caseapp.referrals import operations as ops
from caseapp.referrals.models import Partner
from tests.cases.conftest import (  # noqa: F401 (fixtures)
    PNR_ADULT,
    PNR_ADULT2,
    PNR_CHILD,
    PNR_CHILD2,
    case_factory,
    catalogue,
    person_factory,
    team,
)

__all__ = ["PNR_ADULT", "PNR_ADULT2", "PNR_CHILD", "PNR_CHILD2"]

PURPOSE = "Stöd att komma ut i arbete via Jobbtorg."
JUSTIFICATION = "Risk för allvarligt våld mot sambon enligt samtal i dag."
PHONE = "070-174 06 66"
EMAIL = "oskar.l@example.com"
ADDRESS = "Vinstavägen 99\n162 70 Vällingby"


@pytest.fixture()
def partners(db):
    ops.ensure_partners()
    _db.session.commit()
    return {p.name: p for p in _db.session.scalars(select(Partner))}


def today() -> date:
    return case_ops.today()


@pytest.fixture()
def consent_factory(db):
    def factory(actor, case, partner_list=(), *, kinds=(), categories=("identitet", "kontakt"),
                given_on=None, valid_from=None, valid_to=None, purpose=PURPOSE, giver="personen", giver_name=None):
        given_on = given_on or today() - timedelta(days=2)
        consent = ops.record_consent(actor, case, ops.ConsentData(
            giver, giver_name, "skriftligt", given_on, valid_from or given_on,
            valid_to or today() + timedelta(days=180), [str(p.id) for p in partner_list], list(kinds),
            list(categories), purpose, None))
        _db.session.commit()
        return consent

    return factory


@pytest.fixture()
def referral_factory(db):
    def factory(actor, case, partner, *, consent=None, legal_basis=None, justification=None,
                categories=("identitet", "kontakt"), purpose=PURPOSE, follow_up_on=None, include_address=False,
                assessment=None, journal_excerpt=None):
        referral = ops.create_referral(actor, case, ops.ReferralData(
            str(partner.id), purpose, list(categories), str(consent.id) if consent else None, legal_basis,
            justification, journal_excerpt, assessment, include_address, follow_up_on))
        _db.session.commit()
        return referral

    return factory
