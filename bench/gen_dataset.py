"""Generate a casework data set for the page benchmarks (bench/bench_pages.py).

    python bench/gen_dataset.py [--out DIR] [--people N] [--cases N] [--entries N] [--quick] [--url URL]

Defaults: 100,000 people, 150,000 cases, 1,000,000 journal entries (--quick: 3,000 / 4,500 / 30,000), spread over
10 units (9 that share cases, one that does not) with 20 workers and one unit manager each. Every personal field
is really encrypted under the person's own data key and blind-indexed, exactly as the app writes it; rows are
written with bulk inserts (the app's operations would take hours for a million entries). The same rows are written
a second time in plain UTF-8 into a twin database (no data keys), so that the benchmark can run the same pages with
encryption switched off (`fields._benchmark_passthrough`) against identical data.

Writes DIR/enc.db and DIR/plain.db (SQLite, WAL), or two PostgreSQL databases named after --url's database with
suffixes _enc and _plain; DIR/keys (the key files) and DIR/meta.json (who to log in as, which case has 20 entries,
whom to search for). With --url, DIR becomes DIR-pg, so the two data sets keep separate meta.json files. Names are invented from common Swedish names; the first people carry Skatteverket's published
test numbers and the rest reservnummer (caseapp.people.testnumbers.synthetic_identity): never a real number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CASEAPP_INSTANCE_DIR", tempfile.mkdtemp(prefix="caseapp-bench-"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

import config as config_module  # noqa: E402
from caseapp import create_app  # noqa: E402
from caseapp.accounts import operations as account_ops  # noqa: E402
from caseapp.accounts.models import Role, Unit, User  # noqa: E402
from caseapp.cases import workflow  # noqa: E402
from caseapp.cases.catalogue import INTERVENTION_SEED  # noqa: E402
from caseapp.extensions import db  # noqa: E402
from caseapp.people.operations import PURPOSE_RESERVNUMMER  # noqa: E402
from caseapp.people.testnumbers import synthetic_identity  # noqa: E402
from caseapp.security import auth as authlib  # noqa: E402
from caseapp.security import services  # noqa: E402
from caseapp.security.crypto import PURPOSE_NAME_TOKEN, PURPOSE_PERSONNUMMER, DataKey, wrap_aad  # noqa: E402
from caseapp.security.fields import blind_indexer  # noqa: E402
from caseapp.security.keys import ensure_key_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "out" / "pages-data"


def data_dir(base: Path, url: str | None) -> Path:
    """Where a data set's key files and meta.json live: BASE for SQLite, BASE-pg for PostgreSQL, so that the two
    data sets never overwrite each other's meta.json (bench_pages reads it from the same place)."""
    return base if url is None else base.with_name(base.name + "-pg")
PASSWORD = "Bench-Korrekt-Häst-42"
GIVEN = ["Anna", "Maria", "Eva", "Karin", "Kristina", "Lena", "Sara", "Emma", "Kerstin", "Ingrid", "Elin", "Ida", "Hanna", "Linnea", "Maja", "Alva", "Elsa", "Ebba", "Wilma", "Klara", "Astrid", "Saga", "Alice", "Julia", "Amanda", "Moa", "Fatima", "Amina", "Sofia", "Leila", "Yasmin", "Nora", "Lina", "Aya", "Hiba", "Sanna", "Petra", "Helena", "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Mikael", "Jan", "Hans", "Lennart", "Peter", "Thomas", "Daniel", "Fredrik", "Oskar", "William", "Liam", "Noah", "Hugo", "Lucas", "Elias", "Adam", "Ali", "Omar", "Ahmed", "Mohamed", "Yusuf", "Ibrahim", "Hassan", "Mustafa", "Jonas", "Viktor", "Filip", "Axel", "Emil", "Isak", "Leo", "Melvin", "Theo", "Ludvig", "Anton", "Sixten", "Alexander", "Gustav", "Olle", "Arvid", "Malte", "Ismail", "Samir", "Tariq", "Mattias"]
FAMILY = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist", "Lindgren", "Berg", "Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist", "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg", "Wallin", "Engström", "Eklund", "Danielsson", "Lundin", "Håkansson", "Björk", "Bergman", "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson", "Fransson", "Bergqvist", "Nyström", "Holmberg", "Arvidsson", "Löfgren", "Söderberg", "Nyberg", "Blomqvist", "Claesson", "Nordström", "Mårtensson", "Lundström", "Ali", "Mohamed", "Hassan", "Ahmed", "Hussein", "Abdi", "Yusuf", "Omar", "Ibrahim", "Said", "Kaya", "Yilmaz", "Demir", "Nguyen", "Kowalski", "Novak", "Haddad", "Khalil", "Mansour", "Rahimi", "Hosseini", "Karimi", "Sadeghi", "Ahmadi", "Öberg", "Ek", "Strand", "Falk", "Ström", "Hedlund", "Dahl", "Sundberg", "Åberg", "Sundström", "Viklund", "Holmgren", "Hermansson", "Nordin", "Lundholm", "Blom", "Ekström", "Sjögren", "Åkesson", "Lindholm", "Mattsson", "Sandström", "Hedberg", "Abrahamsson", "Nordqvist"]
NOTE_TEXTS = (
    "Samtal med {g} på kontoret. {g} berättar att skolan fungerar bättre och att kontakten med fritidsgården har "
    "blivit tätare. Vi kommer överens om att ses igen om två veckor.",
    "Telefonsamtal med vårdnadshavare. Oro för att {g} är ute sent på kvällarna; föräldern vill ha stöd i att sätta "
    "gränser. Erbjudande om föräldrastöd lämnat.",
    "Hembesök. {g} och modern närvarande. Bostaden i ordning. {g} uttrycker att hen vill hålla sig borta från de "
    "äldre ungdomarna i centrum.",
    "Möte med skolan, kurator och mentor. Närvaron har ökat från 60 till 80 procent. Fortsatt plan enligt "
    "genomförandeplanen.",
    "Avstämning med Jobbtorg Stockholm efter samtycke från {g}. Praktikplats på lager diskuteras; nästa möte bokat.",
    "Bedömning: fortsatt behov av stöd. {g} har inte haft kontakt med polisen under perioden och följer planen.",
    "Kort kontakt i centrum under uppsökande arbete. {g} mår bra och vill gärna delta i tjejgruppen på torsdagar.",
)
UNITS = [  # code, name, shares, focus areas, worker role
    ("u-unga-1", "Unga i risk 1", True, ("unga_i_risk",), Role.HANDLAGGARE),
    ("u-unga-2", "Unga i risk 2", True, ("unga_i_risk",), Role.HANDLAGGARE),
    ("u-unga-3", "Unga i risk 3", True, ("unga_i_risk",), Role.HANDLAGGARE),
    ("u-lamna-1", "Lämna kriminalitet 1", True, ("lamna_kriminalitet", "anhorigstod"), Role.HANDLAGGARE),
    ("u-lamna-2", "Lämna kriminalitet 2", True, ("lamna_kriminalitet", "anhorigstod"), Role.HANDLAGGARE),
    ("u-anhorig", "Anhörigstöd", True, ("anhorigstod",), Role.HANDLAGGARE),
    ("u-falt-1", "Fältassistenterna 1", True, ("unga_i_risk",), Role.FALTASSISTENT),
    ("u-falt-2", "Fältassistenterna 2", True, ("unga_i_risk",), Role.FALTASSISTENT),
    ("u-brottsoffer", "Brottsofferstöd", True, ("brottsoffer",), Role.HANDLAGGARE),
    ("u-rvt", "Relationsvåldsteamet", False, ("brottsoffer",), Role.RELATIONSVALDSTEAM),
]
WORKERS_PER_UNIT = 20
BENCH_CASES = 40  # cases of the bench worker with exactly 20 journal entries
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BATCH = 20000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_app(url: str, key_dir: Path):
    class Cfg(config_module.TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        KEY_DIR = str(key_dir)
        KEY_STRICT_PERMISSIONS = False
        AUDIT_SINK = "none"

    return create_app(Cfg)


def targets(out: Path, url: str | None) -> dict[str, str]:
    if url is None:
        return {"enc": f"sqlite:///{out / 'enc.db'}", "plain": f"sqlite:///{out / 'plain.db'}"}
    base = make_url(url)
    return {kind: base.set(database=f"{base.database}_{kind}").render_as_string(hide_password=False)
            for kind in ("enc", "plain")}


def fresh_database(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(u.database + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def pnr(i: int) -> tuple[str, date, bool]:
    """(identity, birth date, is_reservnummer) for person i: Skatteverket's published test numbers first, then
    reservnummer (caseapp.people.testnumbers.synthetic_identity); a reservnummer person gets an invented birth date
    (every fifth day from 1940) for the child flag of their cases."""
    number, reserv = synthetic_identity(i)
    if not reserv:
        return number, date(int(number[:4]), int(number[4:6]), int(number[6:8])), False
    return number, date(1940, 1, 1) + timedelta(days=(i // 20) * 5 % 31000), True


def rid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def reference(year: int, n: int) -> str:
    chars = []
    for _ in range(5):
        n, r = divmod(n, 32)
        chars.append(REF_ALPHABET[r])
    return f"{year}-" + "".join(chars)


class Writer:
    """Buffers rows per table and writes them to both databases with executemany."""

    def __init__(self, conns: dict, tables: dict):
        self.conns, self.tables, self.buffers = conns, tables, {}

    def add(self, table: str, enc_row: dict, plain_row: dict | None = None) -> None:
        buf = self.buffers.setdefault(table, ([], []))
        buf[0].append(enc_row)
        buf[1].append(plain_row if plain_row is not None else enc_row)
        if len(buf[0]) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write every buffer, parents before children (PostgreSQL checks foreign keys row by row)."""
        order = [t.name for t in db.metadata.sorted_tables]
        for name in sorted(self.buffers, key=order.index):
            enc_rows, plain_rows = self.buffers.pop(name, ([], []))
            if not enc_rows:
                continue
            tbl = self.tables[name]
            self.conns["enc"].execute(tbl.insert(), enc_rows)
            if "plain" in self.conns:
                self.conns["plain"].execute(tbl.insert(), plain_rows)


def generate(out: Path, url: str | None, n_people: int, n_cases: int, n_entries: int, seed: int = 7,
             plain: bool = True) -> dict:
    started = time.perf_counter()
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    key_dir = out / "keys"
    ensure_key_files(key_dir)
    urls = targets(out, url)
    if not plain:
        urls.pop("plain")
    apps = {}
    for kind, u in urls.items():
        fresh_database(u)
        apps[kind] = make_app(u, key_dir)
        with apps[kind].app_context():
            db.create_all()
    app = apps["enc"]
    today = date.today()
    meta: dict = {"people": n_people, "cases": n_cases, "entries": n_entries, "urls": urls, "key_dir": str(key_dir)}
    with app.app_context():
        provider = app.extensions["caseapp.keys"]
        version = provider.active_kek_version()
        indexer = blind_indexer()
        # --- units and staff (through the app, so that the accounts are real; the same rows go to both)
        unit_rows, user_rows, staff = [], [], {}
        pw_hash = None
        for code, name, shares, _focus, role in UNITS:
            unit = Unit(id=rid(rng), code=code, name=name, shares_cases=shares)
            unit_rows.append(unit)
            members = []
            for w in range(WORKERS_PER_UNIT + 1):
                is_chef = w == WORKERS_PER_UNIT
                username = f"{code}-{'chef' if is_chef else f'w{w:02d}'}"
                if pw_hash is None:
                    pw_hash = services.passwords().hash(PASSWORD)
                user = User(id=rid(rng), username=username, display_name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
                            role=Role.ENHETSCHEF if is_chef else role, unit_id=unit.id, password_hash=pw_hash,
                            must_change_password=False)
                user_rows.append(user)
                members.append(user)
            staff[code] = members
        secrets_by_user = {}
        for a in apps.values():
            with a.app_context():
                for unit in unit_rows:
                    db.session.merge(unit)
                db.session.flush()
                for user in user_rows:
                    db.session.merge(user)
                db.session.commit()
                for code in ("u-unga-1",):
                    for user in (staff[code][0], staff[code][-1]):
                        secret = secrets_by_user.setdefault(user.username, authlib.new_totp_secret())
                        account_ops.set_demo_totp(db.session.get(User, user.id), secret)
                db.session.commit()
        with app.app_context():
            types = {}
            for seed_ in INTERVENTION_SEED:
                types[seed_.code] = (rid(rng), seed_)
        conns = {kind: create_engine(u).connect() for kind, u in urls.items()}
        tables = dict(db.metadata.tables)
        w = Writer(conns, tables)
        for code, (tid, s) in types.items():
            w.add("intervention_types", {"id": tid, "code": code, "focus": s.focus.value, "name": s.name,
                                         "name_en": s.name_en, "description": s.description, "partners": s.partners,
                                         "needs_consent": s.needs_consent, "group_based": s.group_based,
                                         "needs_decision": s.needs_decision, "active": True,
                                         "created_at": datetime.now(), "updated_at": datetime.now()})
        now = datetime.now()

        # --- people: every case's person; a person belongs to the unit of their first case
        say(f"people: {n_people}")
        people = []  # (id, unit index, key, given, family, number, born, reservnummer?)
        weights = (12, 12, 12, 10, 10, 8, 10, 10, 8, 8)
        for i in range(n_people):
            pid = rid(rng)
            unit_ix = rng.choices(range(len(UNITS)), weights=weights)[0]
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            number, born, reserv = pnr(i)
            raw = AESGCM.generate_key(bit_length=256)
            key = DataKey(rid(rng), raw)
            people.append((pid, unit_ix, key, given, family, number, born, reserv))
            wrapped = provider.wrap_data_key(version, raw, wrap_aad(pid, version, key.key_id))
            unit_id = unit_rows[unit_ix].id
            base = {"id": pid, "registered_unit_id": unit_id, "version": 1, "created_at": now, "updated_at": now,
                    "reservnummer": reserv, "protection": "none"}
            enc = dict(base, given_name_enc=key.encrypt(given, "people", "given_name_enc", pid),
                       family_name_enc=key.encrypt(family, "people", "family_name_enc", pid),
                       identity_enc=key.encrypt(number, "people", "identity_enc", pid))
            pl = dict(base, given_name_enc=given.encode(), family_name_enc=family.encode(), identity_enc=number.encode())
            w.add("people", enc, pl)
            w.add("person_keys", {"person_id": pid, "key_id": key.key_id, "kek_version": version, "wrapped": wrapped,
                                  "created_at": now})
            w.add("person_search_index", {"person_id": pid, "kind": "res" if reserv else "pnr", "digest": (
                indexer.compute(PURPOSE_RESERVNUMMER, number.replace("-", "")) if reserv
                else indexer.compute(PURPOSE_PERSONNUMMER, number))})
            for digest in indexer.name_token_indexes(f"{given} {family}", PURPOSE_NAME_TOKEN):
                w.add("person_search_index", {"person_id": pid, "kind": "name", "digest": digest})
        w.flush()
        if "plain" in conns:
            conns["plain"].execute(tables["person_keys"].delete())

        # --- cases, assignments, transitions
        say(f"cases: {n_cases}")
        bench_worker, bench_chef = staff["u-unga-1"][0], staff["u-unga-1"][-1]
        cases = []  # (case id, person index, worker, received, state)
        open_states = [s for s in workflow.ORDER if s is not workflow.State.AVSLUTAD]
        bench_forced = 0
        for ci in range(n_cases):
            pi = ci if ci < n_people else rng.randrange(n_people)
            pid, unit_ix, key, given, family, number, born, _reserv = people[pi]
            code, _name, _shares, focus_areas, _role = UNITS[unit_ix]
            worker = rng.choice(staff[code][:-1])
            forced = ci < BENCH_CASES * 10 and unit_ix == 0 and bench_forced < BENCH_CASES
            if forced:  # the bench worker's first cases: open, with exactly 20 entries each (below)
                worker = bench_worker
                bench_forced += 1
            received = today - timedelta(days=rng.randrange(5, 5 * 365))
            recent = (today - received).days < 365
            state = rng.choice(open_states) if (recent and rng.random() < 0.7) or forced else workflow.State.AVSLUTAD
            focus = rng.choice(focus_areas)
            intake = rng.choice(list(workflow.Intake))
            child = (received - born).days < 18 * 365
            facts = workflow.CaseFacts(workflow.FocusArea(focus), intake, child)
            dates = workflow.CaseDates(received, skyddsbedomning_done=received if rng.random() < 0.9 else None)
            if workflow.ORDER.index(state) >= workflow.ORDER.index(workflow.State.UTREDNING):
                dates = workflow.CaseDates(received, received, received + timedelta(days=10),
                                           received + timedelta(days=10))
            next_due = workflow.next_due(dates.deadlines(facts)) if state is not workflow.State.AVSLUTAD else None
            cid = rid(rng)
            cases.append((cid, pi, worker, received, state))
            base = {"id": cid, "reference": reference(received.year, ci), "person_id": pid,
                    "unit_id": unit_rows[unit_ix].id, "focus": focus, "intake": intake.value, "state": state.value,
                    "child": child, "received_on": received, "skyddsbedomning_done_on": dates.skyddsbedomning_done,
                    "forhandsbedomning_done_on": dates.forhandsbedomning_done,
                    "utredning_started_on": dates.utredning_started, "utredning_done_on": None,
                    "utredning_extended_to": None, "next_due_on": next_due, "responsible_id": worker.id,
                    "created_at": datetime.combine(received, datetime.min.time()), "created_by": worker.id,
                    "updated_at": datetime.combine(received, datetime.min.time()) + timedelta(hours=rng.randrange(9000)),
                    "closed_at": now if state is workflow.State.AVSLUTAD else None}
            summary = f"{given} – ärende inom {focus}."
            w.add("cases", dict(base, summary_enc=key.encrypt(summary, "cases", "summary_enc", cid)),
                  dict(base, summary_enc=summary.encode()))
            w.add("case_assignments", {"id": rid(rng), "case_id": cid, "user_id": worker.id, "responsible": True,
                                       "assigned_at": base["created_at"], "assigned_by": worker.id, "ended_at": None})
            w.add("case_transitions", {"id": rid(rng), "case_id": cid, "person_id": pid, "from_state": None,
                                       "to_state": "aktualisering", "at": base["created_at"], "by": worker.id})
            if state is not workflow.State.AKTUALISERING:
                w.add("case_transitions", {"id": rid(rng), "case_id": cid, "person_id": pid,
                                           "from_state": "aktualisering", "to_state": state.value,
                                           "at": base["created_at"] + timedelta(days=3), "by": worker.id})
            if state in (workflow.State.INSATS, workflow.State.UPPFOLJNING) or rng.random() < 0.1:
                type_code = rng.choice([s.code for s in INTERVENTION_SEED if s.focus.value == focus])
                iid = rid(rng)
                goals = "Regelbunden kontakt och stöd enligt genomförandeplanen."
                ibase = {"id": iid, "case_id": cid, "person_id": pid, "type_id": types[type_code][0],
                         "status": "pagaende" if state is not workflow.State.AVSLUTAD else "avslutad",
                         "start_on": received + timedelta(days=5),
                         "end_on": None if state is not workflow.State.AVSLUTAD else received + timedelta(days=60),
                         "responsible_id": worker.id, "created_at": now, "created_by": worker.id, "updated_at": now}
                w.add("interventions", dict(ibase, goals_enc=key.encrypt(goals, "interventions", "goals_enc", iid)),
                      dict(ibase, goals_enc=goals.encode()))
                if state is not workflow.State.AVSLUTAD:
                    w.add("intervention_follow_ups", {"id": rid(rng), "intervention_id": iid, "person_id": pid,
                                                      "due_on": today + timedelta(days=rng.randrange(-5, 40))})
        w.flush()

        # --- journal entries: the bench worker's first cases get exactly 20, the rest are spread at random
        say(f"journal entries: {n_entries}")
        bench_cases = [c for c in cases if c[2] is bench_worker][:BENCH_CASES]
        bench_ix = {id(c) for c in bench_cases}
        plan = []
        for c in bench_cases:
            plan.extend([c] * 20)
        others = [c for c in cases if id(c) not in bench_ix]
        for _ in range(max(0, n_entries - len(plan))):
            plan.append(others[rng.randrange(len(others))])
        for c in plan:
            cid, pi, worker, received, state = c
            pid, _u, key, given, *_rest = people[pi]
            eid = rid(rng)
            span = max(1, (today - received).days)
            event_day = received + timedelta(days=rng.randrange(span))
            written = datetime.combine(event_day, datetime.min.time()) + timedelta(hours=8 + rng.randrange(9),
                                                                                   minutes=rng.randrange(60))
            signed = written + timedelta(minutes=20) if rng.random() > 0.01 or worker is bench_worker else None
            body = rng.choice(NOTE_TEXTS).format(g=given)
            base = {"id": eid, "case_id": cid, "person_id": pid, "entry_type": rng.choice(
                ["kontakt", "mote", "telefon", "hembesok", "bedomning", "anteckning"]), "event_date": event_day,
                "written_at": written, "author_id": worker.id, "updated_at": written, "signed_at": signed,
                "corrects_id": None}
            w.add("journal_entries", dict(base, text_enc=key.encrypt(body, "journal_entries", "text_enc", eid)),
                  dict(base, text_enc=body.encode()))
        w.flush()
        for conn in conns.values():
            conn.commit()
            if conn.dialect.name == "postgresql":
                # VACUUM as autovacuum would after a bulk load: it sets the visibility map, without which no
                # index-only scan is possible (the caseload count went from 4.6 to 1.0 ms with it); outside a
                # transaction, as VACUUM requires.
                raw = conn.connection.dbapi_connection
                raw.autocommit = True
                raw.execute("VACUUM ANALYZE")
                raw.autocommit = False
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
            conn.close()

        # --- what the benchmark needs
        target = bench_cases[0]
        visible = [p for p in people if p[1] == 0 and not p[7]]  # a published test number
        search_person = visible[len(visible) // 2]
        meta.update({
            "worker": {"username": bench_worker.username, "password": PASSWORD,
                       "totp": secrets_by_user[bench_worker.username]},
            "chef": {"username": bench_chef.username, "password": PASSWORD, "totp": secrets_by_user[bench_chef.username]},
            "case_id": str(target[0]), "search_pnr": search_person[5],
            "search_name": f"{search_person[3]} {search_person[4]}",
            "floor_person_id": str(people[target[1]][0]),
            "generated_seconds": round(time.perf_counter() - started, 1),
        })
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    say(f"done in {meta['generated_seconds']} s")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--url", default=None, help="PostgreSQL URL (database name gets _enc / _plain)")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=150_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.people, args.cases, args.entries = 3_000, 4_500, 30_000
    # absolute: Flask-SQLAlchemy resolves a relative SQLite path against the app's instance folder
    meta = generate(data_dir(args.out, args.url).resolve(), args.url, args.people, args.cases, args.entries)
    print(json.dumps({k: v for k, v in meta.items() if k in ("people", "cases", "entries", "generated_seconds")}))


if __name__ == "__main__":
    main()
