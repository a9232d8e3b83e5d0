"""The raw database holds none of the assessment and plan texts in clear: SQLite's file, WAL and shared-memory
file (and `pg_dump --data-only` on PostgreSQL), after the demo and extra records with every text field filled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from caseapp.accounts import operations as account_ops
from caseapp.cases.models import Case
from caseapp.demo import load_demo
from caseapp.extensions import db as _db
from caseapp.violence import operations as ops
from caseapp.violence.demo import DEMO_VICTIM
from caseapp.violence.models import Plan, RiskAssessment
from tests.conftest import empty_tables, is_postgres, make_app
from tests.security.test_raw_database import assert_clean, known_identifiers, pg_dump_data
from tests.violence.conftest import (
    SECRET_CHANNEL,
    SECRET_CODE_WORD,
    SECRET_DESCRIPTION,
    SECRET_MEASURE,
    SECRET_MOTIVATION,
    protection_values,
    safety_values,
    values,
)

SECRETS = [SECRET_CHANNEL, SECRET_CODE_WORD, SECRET_DESCRIPTION, SECRET_MEASURE, SECRET_MOTIVATION,
           "Stadsbiblioteket i Vällingby", "Kodordet är Trädgårdsmästare",
           # from caseapp/violence/demo.py
           "strypförsök i september", "bakre ingången", "Har du fått tvätten?", "Packad väska med id-handlingar",
           "Ansöka om kontaktförbud tillsammans med Sofia", "Frågorna ställdes i enskilt samtal"]
# Structured answers are encrypted too: their JSON keys and codes never appear in clear.
STRUCTURE = ['"answers": ', '"ratings": ', '"motivation": ', '"channels": ', '"measures": ', '"level": ']


def populate() -> None:
    load_demo()
    _db.session.commit()
    from caseapp.security.fields import blind_indexer  # noqa: F401 (the demo looked the victim up by number)

    worker = account_ops.find_user("maria.berg")
    case = _db.session.scalar(select(Case).join(RiskAssessment, RiskAssessment.case_id == Case.id).limit(1))
    assert case is not None, "the demo has a FREDA assessment on a brottsoffer case"
    ops.create_assessment(worker, case, "freda_beskrivning", values("freda_beskrivning"), sign=True)
    ops.create_assessment(worker, case, "patriark", values("patriark", notes="Kodordet är Trädgårdsmästare"))
    danger = ops.create_assessment(worker, case, "freda_farlighet", values("freda_farlighet"), sign=True)
    _db.session.flush()
    ops.create_plan(worker, case, "skydd", protection_values(danger.id))
    plan = ops.create_plan(worker, case, "sakerhet", safety_values())
    _db.session.flush()
    ops.revise_plan(worker, plan, case, safety_values(places="Stadsbiblioteket i Vällingby"))
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.scalar(select(Plan).where(Plan.version == 2)).content.count("Stadsbiblioteket") == 1
    assert DEMO_VICTIM


def _assert_no_secrets(raw: bytes) -> None:
    leaks = [s for s in SECRETS + STRUCTURE if s.encode() in raw]
    assert not leaks, f"assessment or plan text in clear in the raw database: {leaks}"


def test_sqlite_file_holds_no_assessment_or_plan_text(test_config, tmp_path):
    path = tmp_path / "raw.db"
    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        _db.create_all()
        with _db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode=WAL")).scalar() == "wal"
        populate()
        identifiers = known_identifiers()
        _db.session.commit()
        files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        raw_live = b"".join(p.read_bytes() for p in files)
        _db.session.remove()
        _db.engine.dispose()
    raw_after = path.read_bytes()
    assert b"violence_assessments" in raw_after and b"violence_plans" in raw_after  # the right file
    for raw in (raw_live, raw_after):
        _assert_no_secrets(raw)
        assert_clean(raw, identifiers)


@pytest.mark.skipif(not is_postgres(), reason="needs TEST_DATABASE_URL pointing at PostgreSQL")
@pytest.mark.postgres
def test_pg_dump_holds_no_assessment_or_plan_text(app):
    url = make_url(os.environ["TEST_DATABASE_URL"])
    with app.app_context():
        empty_tables()
        try:
            populate()
            identifiers = known_identifiers()
            _db.session.commit()
            dump = pg_dump_data(url)
        finally:
            _db.session.remove()
            empty_tables()
    assert b"COPY public.violence_assessments" in dump and b"COPY public.violence_plans" in dump
    _assert_no_secrets(dump)
    assert_clean(dump, identifiers)
