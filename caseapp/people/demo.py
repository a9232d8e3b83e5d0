"""Demo people for `caseapp demo`: invented people with ordinary Swedish names, addresses in Hässelby and
Vällingby (house numbers invented), phone numbers from PTS's range for fiction (070-174 06 xx), example.com
e-mail, and ONLY Skatteverket's published test identity numbers (`caseapp.people.testnumbers`). Never real people.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from caseapp.accounts import operations as account_ops
from caseapp.accounts.models import Unit
from caseapp.extensions import db
from caseapp.people import operations as ops
from caseapp.people.models import PersonSearchIndex, Protection
from caseapp.people.testnumbers import demo_number

P = Protection
# unit code, registered by (username), given, family, number, reservnummer?, protection, address, phone, e-mail, notes
DEMO_PEOPLE = [
    ("unga-i-risk", "sara.lind", "Elsa", "Johansson", demo_number(date(2009, 4, 8), 238), False, P.NONE,
     "Råckstavägen 14\n162 72 Vällingby", "070-174 06 05", None, "Kontakt via skolkuratorn. Vårdnadshavare informerade."),
    ("unga-i-risk", "ali.hassan", "Liam", "Karlsson", demo_number(date(2008, 11, 10), 239), False, P.NONE,
     "Kirunagatan 5\n162 68 Vällingby", "070-174 06 06", None, "Deltar i skolnärvaroprogrammet."),
    ("unga-i-risk", "sara.lind", "Noah", "Eriksson", demo_number(date(2010, 1, 5), 239), False,
     P.SEKRETESSMARKERING, "Hässelby torg 3\n165 55 Hässelby", None, None, None),
    ("lamna-kriminalitet", "omar.haddad", "Göran", "Lindqvist", demo_number(date(1995, 5, 12), 239), False, P.NONE,
     "Loviselundsvägen 12\n165 61 Hässelby", "070-174 06 07", "goran.l@example.com", "Anhörig. Deltar i anhörigcirkeln."),
    ("lamna-kriminalitet", "omar.haddad", "Oscar", "Nilsson", demo_number(date(1996, 7, 11), 239), False, P.NONE,
     "Grimstagatan 40\n162 58 Vällingby", "070-174 06 08", "oscar.n@example.com",
     "Vill lämna en kriminell livsstil. Kontakt med Jobbtorg Stockholm och Försäkringskassan planeras."),
    ("lamna-kriminalitet", "omar.haddad", "Hanna", "Pettersson", demo_number(date(1996, 2, 13), 238), False, P.NONE,
     "Ängbyplan 7\n162 62 Vällingby", None, "hanna.p@example.com", "Individuellt anhörigstöd."),
    ("relationsvaldsteamet", "maria.berg", "Sofia", "Gustafsson", demo_number(date(1995, 3, 24), 238), False,
     P.SKYDDAD_FOLKBOKFORING, None, "070-174 06 09", None, "Säker kontaktväg: endast mobil, efter kl. 17."),
    ("relationsvaldsteamet", "nils.ek", "Fredrik", "Olsson", demo_number(date(1995, 6, 15), 239), False, P.NONE,
     "Spångavägen 300\n162 51 Vällingby", None, None, "Kontakt med förövarprogrammet."),
    ("relationsvaldsteamet", "maria.berg", "Amanda", "Larsson", demo_number(date(1995, 12, 5), 238), False,
     P.FINGERADE, None, None, None, None),
    ("relationsvaldsteamet", "maria.berg", "Maja", "Persson", demo_number(date(1950, 12, 21), 238, samordning=True),
     False, P.SEKRETESSMARKERING, "Vinstavägen 22\n162 70 Vällingby", "070-174 06 10", None, "Samordningsnummer."),
    ("faltassistenterna", "jonas.falk", "Alva", "Svensson", demo_number(date(2011, 5, 19), 238), False, P.NONE,
     "Vällingbyplan 2\n162 65 Vällingby", None, None, "Träffad vid uppsökande arbete i centrum."),
    ("faltassistenterna", "jonas.falk", "William", "Andersson", demo_number(date(2010, 10, 1), 239), False, P.NONE,
     "Hässelby strandväg 9\n165 65 Hässelby", "070-174 06 11", None, None),
    ("faltassistenterna", "jonas.falk", "Adam", "Jönsson", "RES-HV-0042", True, P.NONE,
     None, None, None, "Reservnummer tills identiteten är fastställd."),
]


def load_demo_people() -> None:
    """Register the demo people (skips those already registered, so it is safe to run twice)."""
    for (unit_code, username, given, family, number, reserv, protection, address, phone, email,
         notes) in DEMO_PEOPLE:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            continue
        data = ops.PersonData(given_name=given, family_name=family, identity=number, reservnummer=reserv,
                              protection=protection, address=address, phone=phone, email=email, notes=notes)
        kind, digest = ops._identity_index(ops.clean(data))  # type: ignore[misc]
        exists = db.session.scalar(select(PersonSearchIndex.person_id).where(
            PersonSearchIndex.kind == kind, PersonSearchIndex.digest == digest).limit(1))
        if exists is not None:
            continue
        actor = account_ops.find_user(username)
        ops.register_person(actor, data, unit_id=unit.id, confirm_duplicate=True)
    db.session.flush()
