"""Demo referrals for `caseapp demo`: the partner list, sharing consents (one withdrawn, one expired) and referrals
in every state on the casework demo cases, and a disclosure to the police without consent (OSL 10 kap. 18 c §).
Everything goes through the operations (the same checks as in the app), back-dated. Safe to run twice: a case that
already has referrals or consents is skipped.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from caseapp.accounts import operations as account_ops
from caseapp.cases import operations as case_ops
from caseapp.cases.demo import _at, _person
from caseapp.cases.models import Case
from caseapp.extensions import db
from caseapp.people.demo import demo_number
from caseapp.referrals import operations as ops
from caseapp.referrals.models import Partner, Referral, SharingConsent


def _case(number: str) -> Case | None:
    person = _person(number)
    if person is None:
        return None
    case = db.session.scalar(select(Case).where(Case.person_id == person.id).order_by(Case.created_at).limit(1))
    if case is None or db.session.scalar(select(Referral.id).where(Referral.case_id == case.id).limit(1)) or \
            db.session.scalar(select(SharingConsent.id).where(SharingConsent.case_id == case.id).limit(1)):
        return None
    return case


def _partner(name: str) -> Partner:
    return db.session.scalar(select(Partner).where(Partner.name == name))


def _consent(worker, case, partners, categories, given: date, until: date, purpose: str, *, giver="personen",
             giver_name=None, kinds=()):
    consent = ops.record_consent(worker, case, ops.ConsentData(
        giver, giver_name, "skriftligt", given, given, until, [str(p.id) for p in partners], list(kinds),
        list(categories), purpose, None))
    consent.recorded_at = _at(given)
    db.session.flush()
    return consent


def _referral(worker, case, partner, created: date, purpose: str, categories, *, consent=None, basis=None,
              justification=None, follow_up=None, assessment=None):
    referral = ops.create_referral(worker, case, ops.ReferralData(
        str(partner.id), purpose, list(categories), str(consent.id) if consent else None, basis, justification,
        None, assessment, False, None))
    referral.created_at = _at(created)
    referral.follow_up_on = follow_up
    db.session.flush()
    return referral


def _step(worker, referral, case, target: str, on: date, text=None, outcome=None) -> None:
    ops.progress_referral(worker, referral, case, ops.ProgressData(target, on, text, outcome))


def load_demo_referrals() -> None:
    ops.ensure_partners()
    today = ops.today()
    d = lambda n: today - timedelta(days=n)  # noqa: E731
    jobbtorg, fk = _partner("Jobbtorg Stockholm"), _partner("Försäkringskassan")
    police, af = _partner("Polisen lokalpolisområde Vällingby"), _partner("Arbetsförmedlingen")
    kriminalvarden, schools = _partner("Kriminalvården"), _partner("Stadsdelens skolor")
    rvc = _partner("Relationsvåldscentrum")

    # Oscar, leaving a criminal lifestyle: Jobbtorg (completed: started there), Försäkringskassan (accepted),
    # Arbetsförmedlingen (a draft without consent: it cannot be sent), Kriminalvården (declined; its consent has
    # expired since).
    omar = account_ops.find_user("omar.haddad")
    case = _case(demo_number(date(1996, 7, 11), 239))
    if omar is not None and case is not None:
        consent = _consent(omar, case, [jobbtorg, fk], ("identitet", "kontakt", "arende", "insatser", "bedomning"),
                           d(41), today + timedelta(days=320),
                           "Planering för egen försörjning tillsammans med Jobbtorg Stockholm och Försäkringskassan.")
        r = _referral(omar, case, jobbtorg, d(39), "Arbetsträning och stöd att komma ut i arbete.",
                      ("identitet", "kontakt", "insatser"), consent=consent)
        ops.send_referral(omar, r, case, on=d(38))
        _step(omar, r, case, "mottagen", d(36))
        _step(omar, r, case, "accepterad", d(34), "Välkommen till introduktionsmöte på Jobbtorg Vällingby.")
        _step(omar, r, case, "avslutad", d(10), "Oscar har börjat arbetsträning på ett lager i Bromma.", "paborjad")
        r = _referral(omar, case, fk, d(22), "Samordning av ersättning under arbetsträningen.",
                      ("identitet", "arende", "bedomning"), consent=consent, follow_up=today + timedelta(days=14),
                      assessment="Oscar bedöms klara arbetsträning på halvtid de första två månaderna.")
        ops.send_referral(omar, r, case, on=d(20))
        _step(omar, r, case, "accepterad", d(12), "Handläggare hos Försäkringskassan kallar till möte.")
        _referral(omar, case, af, d(2), "Inskrivning som arbetssökande efter arbetsträningen.", ("identitet",),
                  follow_up=today + timedelta(days=30))
        expired = _consent(omar, case, [kriminalvarden], ("identitet", "arende"), d(70), d(20),
                           "Samordning med frivården under villkorlig frigivning.")
        r = _referral(omar, case, kriminalvarden, d(66), "Samordning med frivården.", ("identitet", "arende"),
                      consent=expired)
        ops.send_referral(omar, r, case, on=d(65))
        _step(omar, r, case, "avbojd", d(60), "Frivården har redan avslutat övervakningen.")

    # Liam, under 21, in SIG: the police under OSL 10 kap. 18 b § (sent, no answer yet); the school on a consent that
    # was withdrawn after sending (received, the answer is overdue).
    ali = account_ops.find_user("ali.hassan")
    case = _case(demo_number(date(2008, 11, 10), 239))
    if ali is not None and case is not None:
        r = _referral(ali, case, police, d(41), "Samverkan i social insatsgrupp: handlingsplanens insatser.",
                      ("identitet", "insatser"), basis="osl_10_18b",
                      justification="Liam är under 21 år; uppgifterna behövs för att förebygga brott inom SIG.",
                      follow_up=today + timedelta(days=10))
        ops.send_referral(ali, r, case, on=d(40))
        consent = _consent(ali, case, [schools], ("identitet", "insatser"), d(35), today + timedelta(days=200),
                           "Samordning med skolan om närvaro och stöd.")
        r = _referral(ali, case, schools, d(31), "Stöd från elevhälsan för ökad närvaro.",
                      ("identitet", "insatser"), consent=consent, follow_up=d(7))
        ops.send_referral(ali, r, case, on=d(30))
        _step(ali, r, case, "mottagen", d(25))
        ops.withdraw_consent(ali, consent, case, d(5))

    # Elsa, 17: her mother's consent (as guardian) to share with the school; nothing sent yet.
    sara = account_ops.find_user("sara.lind")
    case = _case(demo_number(date(2009, 4, 8), 238))
    if sara is not None and case is not None:
        _consent(sara, case, [schools], ("identitet", "arende"), d(3), today + timedelta(days=150),
                 "Samordning med skolan om närvaro.", giver="vardnadshavare", giver_name="Modern")

    # Sofia, skyddad folkbokföring: a referral to Relationsvåldscentrum, reviewed and sent, then cancelled.
    maria = account_ops.find_user("maria.berg")
    case = _case(demo_number(date(1995, 3, 24), 238))
    if maria is not None and case is not None:
        consent = _consent(maria, case, [rvc], ("identitet", "kontakt"), d(16), today + timedelta(days=120),
                           "Stödsamtal hos Relationsvåldscentrum.")
        r = _referral(maria, case, rvc, d(15), "Stödsamtal för våldsutsatta.", ("identitet", "kontakt"),
                      consent=consent)
        ops.send_referral(maria, r, case, confirm_protected=True, on=d(14))
        _step(maria, r, case, "makulerad", d(8), "Sofia vill i stället fortsätta stödsamtalen hos oss.")

    # Fredrik, in the perpetrator programme: a disclosure to the police without consent (OSL 10 kap. 18 c §).
    # Casework's demo has no case for him yet: open one (once) for the team's work with perpetrators.
    nils = account_ops.find_user("nils.ek")
    fredrik = _person(demo_number(date(1995, 6, 15), 239))
    case = None
    if nils is not None and fredrik is not None and db.session.scalar(
            select(Case.id).where(Case.person_id == fredrik.id).limit(1)) is None:
        case = case_ops.open_case(nils, fredrik, case_ops.NewCase(
            "brottsoffer", "eget_initiativ", d(30), "Deltar i förövarprogrammet tillsammans med polisen."),
            unit_id=nils.unit_id)
        case.created_at = _at(d(30), 8)
        db.session.flush()
    if case is not None:
        ops.record_disclosure(nils, case, police, "osl_10_18c",
                              "Fredrik uttryckte i samtal konkreta hot om allvarligt våld mot sin före detta sambo.",
                              ["identitet", "bedomning"], description="Namn, personnummer och vad som sades om hotet.",
                              recipient_detail="Vakthavande befäl", channel="telefon", disclosed_on=d(6))
    db.session.flush()
