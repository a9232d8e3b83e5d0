"""The raw database holds none of the consent, referral or disclosure texts in clear (SQLite: the file and its
WAL; PostgreSQL: `pg_dump --data-only` of the test database)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.referrals import operations as ops
from tests.conftest import is_postgres
from tests.referrals.conftest import PNR_CHILD
from tests.security.test_raw_database import pg_dump_data

TEXTS = {
    "purpose": "Syftet Qwertyuiop arbetsträning",
    "consent_notes": "Anteckning Zxcvbnmasd om samtycket",
    "guardian": "Gunhild Vårdnadshavarsson",
    "referral_purpose": "Remissyfte Plmoknijb hos Jobbtorg",
    "justification": "Motivering Ujmnhytgb allvarligt våld",
    "excerpt": "Journalutdrag Rfvbgtyhn samtal",
    "assessment": "Bedömning Edcvfrtgb redo",
    "answer": "Svar Wsxcderfv från Jobbtorg",
    "outcome": "Utfall Qazxswedc började arbetsträning",
    "description": "Utlämnat Okmijnuhb namn och risk",
    "detail": "Handläggare Yhnujmik vid polisen",
}


def _raw_database(app) -> bytes:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not is_postgres():
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return pg_dump_data(url)


def test_texts_are_encrypted_at_rest(app, db, make_user, catalogue, partners, case_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_CHILD, given_name="Oskar", family_name="Lindqvist")
    jobbtorg, police = partners["Jobbtorg Stockholm"], partners["Polisen lokalpolisområde Vällingby"]
    consent = ops.record_consent(worker.user, case, ops.ConsentData(
        "vardnadshavare", TEXTS["guardian"], "skriftligt", ops.today(), ops.today(), ops.today().replace(
            year=ops.today().year + 1), [str(jobbtorg.id)], [], ["identitet", "journalutdrag", "bedomning"],
        TEXTS["purpose"], TEXTS["consent_notes"]))
    _db.session.flush()
    referral = ops.create_referral(worker.user, case, ops.ReferralData(
        str(jobbtorg.id), TEXTS["referral_purpose"], ["identitet", "journalutdrag", "bedomning"], str(consent.id),
        None, None, TEXTS["excerpt"], TEXTS["assessment"], False, None))
    _db.session.flush()
    ops.send_referral(worker.user, referral, case)
    ops.progress_referral(worker.user, referral, case, ops.ProgressData("accepterad", ops.today(), TEXTS["answer"]))
    ops.progress_referral(worker.user, referral, case, ops.ProgressData("avslutad", ops.today(), TEXTS["outcome"],
                                                                        "paborjad"))
    ops.record_disclosure(worker.user, case, police, "osl_10_18c", TEXTS["justification"], ["identitet"],
                          description=TEXTS["description"], recipient_detail=TEXTS["detail"])
    _db.session.commit()
    _db.session.expire_all()
    assert referral.outcome == TEXTS["outcome"] and consent.giver_name == TEXTS["guardian"]  # readable with keys
    raw = _raw_database(app)
    assert b"Jobbtorg Stockholm" in raw  # the partner list is in clear: we read the right database
    leaks = [name for name, text in TEXTS.items()
             if text.encode() in raw or text.split()[1].encode() in raw]
    assert not leaks, f"in clear in the raw database: {leaks}"
