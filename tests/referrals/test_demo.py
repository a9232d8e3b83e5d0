"""`caseapp demo` adds partners, consents (one withdrawn, one expired) and referrals in every state; twice is safe."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp.demo import load_demo
from caseapp.referrals import operations as ops
from caseapp.referrals.catalogue import ReferralState
from caseapp.referrals.models import Disclosure, Partner, Referral, SharingConsent


def test_demo_referrals(app, db):
    load_demo()
    db.session.commit()
    referrals = list(db.session.scalars(select(Referral)))
    assert {r.state for r in referrals} == set(ReferralState)
    consents = list(db.session.scalars(select(SharingConsent)))
    statuses = [ops.consent_status(c) for c in consents]
    assert "withdrawn" in statuses and "expired" in statuses and "valid" in statuses
    assert db.session.scalar(select(func.count()).select_from(Partner)) >= 9
    disclosures = list(db.session.scalars(select(Disclosure)))
    assert any(d.legal_basis == "osl_10_18c" and d.referral_id is None for d in disclosures)
    assert sum(1 for d in disclosures if d.referral_id) == sum(1 for r in referrals if r.sent_on)
    counts = {t: db.session.scalar(select(func.count()).select_from(t)) for t in (Referral, SharingConsent,
                                                                                   Disclosure, Partner)}
    load_demo()
    db.session.commit()
    assert {t: db.session.scalar(select(func.count()).select_from(t)) for t in counts} == counts
