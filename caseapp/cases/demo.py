"""Demo casework for `caseapp demo`: cases for every focus area in several states, with journal entries (one
corrected, one with an objection, one draft), decisions (one waiting for the unit manager), interventions with
goals, implementation plans, consents and follow-ups, an anhörig circle with sessions and attendance, a school
violence-prevention series, and relations between relatives. Uses the people registry's demo people (test
personnummer only). Safe to run twice: a person who already has a case is skipped.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from caseapp.accounts import operations as account_ops
from caseapp.cases import operations as ops
from caseapp.cases.models import Case, CaseTransition, InterventionType
from caseapp.extensions import db
from caseapp.people.demo import demo_number
from caseapp.people.models import Person, PersonSearchIndex
from caseapp.security.crypto import PURPOSE_PERSONNUMMER
from caseapp.security.fields import blind_indexer


def _person(number: str) -> Person | None:
    digest = blind_indexer().compute(PURPOSE_PERSONNUMMER, number)
    pid = db.session.scalar(select(PersonSearchIndex.person_id).where(
        PersonSearchIndex.kind == "pnr", PersonSearchIndex.digest == digest).limit(1))
    return db.session.get(Person, pid) if pid else None


def _user(username: str):
    return account_ops.find_user(username)


def _type(code: str) -> InterventionType:
    return db.session.scalar(select(InterventionType).where(InterventionType.code == code))


def _at(day: date, hour: int = 10) -> datetime:
    """A naive UTC time on `day` (the interface shows Stockholm time)."""
    return datetime.combine(day, time(hour, 15))


class _Story:
    """Builds one case with back-dated events, as if it had been worked on over the past weeks."""

    def __init__(self, worker_name: str, number: str, focus: str, intake: str, received: date, summary: str):
        self.worker = _user(worker_name)
        self.person = _person(number)
        self.case = None
        if self.worker is None or self.person is None:
            return
        if db.session.scalar(select(Case.id).where(Case.person_id == self.person.id).limit(1)) is not None:
            self.person = None  # already loaded
            return
        self.case = ops.open_case(self.worker, self.person, ops.NewCase(focus, intake, received, summary),
                                  unit_id=self.worker.unit_id)
        self.case.created_at = _at(received, 8)
        for obj in db.session.new:
            if isinstance(obj, CaseTransition) and obj.case_id == self.case.id:
                obj.at = _at(received, 8)

    @property
    def ok(self) -> bool:
        return self.case is not None

    def step(self, target: str, on: date, reason: str | None = None) -> None:
        step = ops.transition(self.worker, self.case, target, reason)
        step.at = _at(on, 9)
        # The operation dates its effects today; in the story they happened on `on`.
        c = self.case
        for name in ("forhandsbedomning_done_on", "utredning_started_on", "utredning_done_on"):
            if getattr(c, name) == ops.today():
                setattr(c, name, on)
        ops._refresh_due(c)

    def note(self, kind: str, on: date, text: str, *, sign: bool = True, author=None):
        entry = ops.create_entry(author or self.worker, self.case, ops.EntryData(kind, on, text))
        entry.written_at = entry.updated_at = _at(on, 15)
        if sign:
            ops.sign_entry(author or self.worker, entry)
            entry.signed_at = _at(on, 16)
        db.session.flush()
        return entry

    def decide(self, kind: str, basis: str, on: date, text: str, **kw):
        decision = ops.propose_decision(self.worker, self.case, ops.DecisionData(kind, basis, on, text, **kw))
        decision.proposed_at = _at(on, 11)
        if decision.decided_at is not None:
            decision.decided_at = _at(on, 11)
        db.session.flush()
        return decision

    def intervention(self, code: str, start: date, goals: str, plan: str | None, *, status: str = "pagaende",
                     end: date | None = None, decision=None, agreed: date | None = None):
        item = ops.add_intervention(self.worker, self.case, ops.InterventionData(
            _type(code).id, status, start, end, self.worker.id, goals, plan, agreed,
            decision.id if decision else None))
        item.created_at = _at(start, 13)
        db.session.flush()
        return item


def load_demo_cases() -> None:
    ops.ensure_intervention_catalogue()
    today = ops.today()
    d = lambda n: today - timedelta(days=n)  # noqa: E731

    # Unga i risk: a report of concern about a child, skyddsbedömning done, förhandsbedömning running.
    s = _Story("sara.lind", demo_number(date(2009, 4, 8), 238), "unga_i_risk", "anmalan", d(10),
               "Orosanmälan från skolkuratorn: hög frånvaro och oro för kontakter med äldre ungdomar.")
    if s.ok:
        ops.record_skyddsbedomning(s.worker, s.case, d(10))
        s.note("telefon", d(10), "Samtal med skolkuratorn. Eleven har varit frånvarande 40 % av tiden sedan "
               "höstlovet. Ingen akut fara enligt kuratorn.")
        s.note("bedomning", d(10), "Skyddsbedömning: inget omedelbart skyddsbehov. Vårdnadshavare nås i dag.")
        s.step("forhandsbedomning", d(9))
        s.note("mote", d(3), "Möte med Elsa och modern på kontoret. Elsa vill ha hjälp att komma tillbaka till "
               "skolan.", sign=False)

    # Unga i risk: SIG referral from the police about a 17-year-old; investigated, decided, SIG running.
    s = _Story("ali.hassan", demo_number(date(2008, 11, 10), 239), "unga_i_risk", "remiss", d(120),
               "Remiss från lokalpolisområde Vällingby om social insatsgrupp (SIG).")
    if s.ok:
        ops.record_skyddsbedomning(s.worker, s.case, d(120))
        s.step("forhandsbedomning", d(119))
        s.decide("inleda_utredning", "sol2025_forhandsbedomning", d(112), "Uppgifterna i remissen motiverar utredning.")
        s.step("utredning", d(112))
        s.note("hembesok", d(100), "Hembesök. Liam och fadern närvarande. Liam är positiv till SIG.")
        s.step("beslut", d(60))
        s.step("insats", d(58))
        sig = s.intervention("sig", d(58), "Bryta kontakten med det kriminella nätverket och fullfölja gymnasiet.",
                             "Handlingsplan (SIG): veckovisa samtal med handläggare, kontaktperson på skolan, "
                             "polisens samtal varannan vecka. Uppföljning med gruppen var sjätte vecka.",
                             status="planerad", agreed=d(58))
        for giver in ("personen", "vardnadshavare"):
            ops.add_consent(s.worker, sig, ops.ConsentData(giver, "skriftligt", d(59), today + timedelta(days=300),
                                                           "Polisen, skolan och socialtjänsten: uppgifter som behövs "
                                                           "för handlingsplanen."))
        done = ops.add_follow_up(s.worker, sig, d(16))
        ops.add_follow_up(s.worker, sig, today + timedelta(days=5))
        db.session.flush()
        db.session.refresh(sig)
        sig.status = ops.InterventionStatus.ACTIVE
        ops.complete_follow_up(s.worker, sig, done.id, d(15), "Närvaron har ökat; inga nya polisanmälningar. "
                               "Handlingsplanen fortsätter.")
        s.intervention("skolnarvaro", d(50), "Närvaro över 85 % under vårterminen.", "Morgonavstämning med "
                       "mentor, veckovis uppföljning med föräldrarna.", agreed=d(50))
        s.step("uppfoljning", d(14))

    # Unga i risk: a report that has waited too long: förhandsbedömning overdue.
    s = _Story("sara.lind", demo_number(date(2010, 1, 5), 239), "unga_i_risk", "anmalan", d(30),
               "Anmälan från polisen efter ett rån i Vällingby centrum.")
    if s.ok:
        ops.record_skyddsbedomning(s.worker, s.case, d(29))
        s.step("forhandsbedomning", d(29))
        s.note("telefon", d(28), "Försökt nå vårdnadshavare utan svar. Brev skickat.")

    # Lämna en kriminell livsstil: voluntary support straight to an intervention; a corrected note and an objection.
    s = _Story("omar.haddad", demo_number(date(1996, 7, 11), 239), "lamna_kriminalitet", "ansokan", d(75),
               "Oscar vill lämna en kriminell livsstil och ansöker om stöd.")
    if s.ok:
        s.note("mote", d(74), "Första samtal. Oscar beskriver sin situation och vill ha stöd att hitta arbete.")
        s.step("insats", d(70), "Frivilligt motivationsstöd utan utredning.")
        s.intervention("motivation", d(70), "Stärka motivationen och bygga ett nätverk utanför kriminaliteten.",
                       "Samtal varje vecka, därefter varannan vecka.", agreed=d(70))
        work = s.intervention("egen_forsorjning", d(40), "Egen försörjning inom ett år.",
                              "Gemensamt möte med Jobbtorg Stockholm och Försäkringskassan.", status="planerad",
                              agreed=d(40))
        ops.add_consent(s.worker, work, ops.ConsentData("personen", "skriftligt", d(41), today + timedelta(days=320),
                                                        "Jobbtorg Stockholm och Försäkringskassan: kontaktuppgifter "
                                                        "och planering för egen försörjning."))
        ops.add_follow_up(s.worker, work, today + timedelta(days=10))
        wrong = s.note("telefon", d(30), "Oscar ringde och berättade att han fått arbete på lager i Bromma.")
        fix = ops.correct_entry(s.worker, wrong, ops.EntryData("telefon", d(30), "Oscar ringde och berättade att han "
                                "fått en praktikplats på lager i Bromma via Jobbtorg."),
                                "Det var en praktikplats, inte en anställning.")
        fix.written_at = fix.signed_at = _at(d(29), 9)
        disputed = s.note("bedomning", d(20), "Bedömning: Oscar har fortsatt kontakt med personer i det gamla "
                          "nätverket.")
        ops.add_objection(s.worker, disputed, d(12), "Oscar anser att uppgiften är fel: han har bara träffat sin "
                          "kusin, som inte är kriminell.")

    # Anhörigstöd: relatives of Oscar, individual support and the circle.
    oscar = _person(demo_number(date(1996, 7, 11), 239))
    hanna_story = _Story("omar.haddad", demo_number(date(1996, 2, 13), 238), "anhorigstod", "ansokan", d(45),
                         "Syster till en person som vill lämna kriminalitet; vill ha stöd för egen del.")
    if hanna_story.ok:
        hanna_story.step("insats", d(44), "Anhörigstöd ges utan utredning.")
        hanna_story.intervention("anhorig_individuellt", d(44), "Hantera oron och sätta gränser.",
                                 "Fem stödsamtal.", agreed=d(44))
        hanna_story.note("mote", d(30), "Stödsamtal 2. Hanna berättar om hot mot familjen förra året.")
        if oscar is not None:
            ops.add_relation(hanna_story.worker, oscar, demo_number(date(1996, 2, 13), 238), "syskon")
    goran = _Story("omar.haddad", demo_number(date(1995, 5, 12), 239), "anhorigstod", "eget_initiativ", d(40),
                    "Anhörig som vill delta i anhörigcirkeln.")
    if goran.ok:
        goran.step("insats", d(39), "Deltagande i anhörigcirkel.")
        goran.intervention("anhorigcirkel", d(35), "Stöd genom erfarenhetsutbyte med andra anhöriga.", None)
        if oscar is not None:
            ops.add_relation(goran.worker, oscar, demo_number(date(1995, 5, 12), 239), "annan")
        members = [c for c in (hanna_story.case, goran.case) if c is not None]
        circle = ops.create_group(goran.worker, goran.worker.unit_id, ops.GroupData(
            _type("anhorigcirkel").id, "Anhörigcirkel hösten 2026", "Tisdagar 17.30–19, Vällingby", goran.worker.id,
            None, d(35), today + timedelta(days=40)))
        db.session.flush()
        for c in members:
            ops.add_member(goran.worker, circle, c.id, d(35))
        sessions = [ops.add_session(goran.worker, circle, d(n), topic, 0) for n, topic in
                    ((28, "Att vara anhörig"), (21, "Oro och skuld"), (14, "Att sätta gränser"))]
        db.session.flush()
        db.session.refresh(circle)
        for i, sess in enumerate(sessions):
            present = [str(m.id) for j, m in enumerate(circle.members) if (i + j) % 3 != 2]
            ops.record_attendance(goran.worker, circle, sess.id, present)
        ops.add_session(goran.worker, circle, today + timedelta(days=7), "Vägen framåt", 0)

    # Brottsoffer: a police report about violence in a close relationship, investigation running.
    s = _Story("maria.berg", demo_number(date(1995, 3, 24), 238), "brottsoffer", "anmalan", d(21),
               "Polisanmälan om våld i nära relation. Sofia har skyddad folkbokföring.")
    if s.ok:
        s.step("forhandsbedomning", d(21))
        s.decide("inleda_utredning", "sol2025_utredning", d(20), "Behov av stöd och skydd ska utredas.")
        s.step("utredning", d(20))
        s.note("mote", d(19), "Samtal på säker plats. Sofia vill ha stöd och skyddat boende diskuteras.")
        s.intervention("stodsamtal_brottsoffer", d(18), "Trygghet och bearbetning.", None, status="pagaende")

    # Brottsoffer: a proposal for sheltered housing waiting for the unit manager.
    s = _Story("maria.berg", demo_number(date(1950, 12, 21), 238, samordning=True), "brottsoffer", "ansokan", d(12),
               "Ansökan om skyddat boende.")
    if s.ok:
        s.step("forhandsbedomning", d(12))
        s.step("utredning", d(11))
        s.note("bedomning", d(6), "Utredningen visar behov av skyddat boende under tre månader.")
        s.step("beslut", d(5))
        s.decide("bifall", "sol2025_brottsoffer", d(5), "Behov av skydd; skyddat boende i tre månader.")

    # Fältassistenterna: outreach contact with a young person; a closed case.
    s = _Story("jonas.falk", demo_number(date(2011, 5, 19), 238), "unga_i_risk", "eget_initiativ", d(25),
               "Träffad vid uppsökande arbete i Vällingby centrum.")
    if s.ok:
        s.step("insats", d(24), "Förebyggande kontakt utan utredning.")
        s.intervention("faltkontakt", d(24), "Regelbunden kontakt och koppling till fritidsgården.", None)
        s.note("kontakt", d(7), "Träffade Alva på fritidsgården. Hon vill börja i tjejgruppen.")
    s = _Story("jonas.falk", demo_number(date(2010, 10, 1), 239), "unga_i_risk", "eget_initiativ", d(90),
               "Kontakt vid skolans lunchrast.")
    if s.ok:
        s.step("insats", d(88), "Förebyggande kontakt.")
        s.intervention("faltkontakt", d(88), "Kontakt under hösten.", None, status="avslutad", end=d(20))
        s.step("avslutad", d(20), "Kontakten avslutad efter överenskommelse; inget fortsatt behov.")
        falk = s.worker
        series = ops.create_group(falk, falk.unit_id, ops.GroupData(
            _type("valdsprevention").id, "Våldsprevention åk 8, Vällingbyskolan", "Onsdagar, lektion 3",
            falk.id, None, d(30), today + timedelta(days=30)))
        db.session.flush()
        for n, topic in ((23, "Normer och gränser"), (9, "Att säga ifrån")):
            ops.add_session(falk, series, d(n), topic, 26)
    db.session.flush()
