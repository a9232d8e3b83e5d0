"""The referrals catalogue: partner kinds, the data categories that can be shared, referral states, and the legal
bases for a disclosure without consent (docs/referrals.md lists them with their reasons).

A code here is never reused or removed: stored consents, referrals and disclosures refer to it. A legal basis that
ends gets `active=False` (old records keep their reference; new ones cannot cite it). The paragraph references
should be verified by the administration's legal function before production, in this one file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from caseapp.i18n import lazy_gettext as _l


class PartnerKind(enum.StrEnum):
    JOB_CENTRE = "jobbtorg"
    SOCIAL_INSURANCE = "forsakringskassan"
    POLICE = "polis"
    EMPLOYMENT_SERVICE = "arbetsformedling"
    HEALTH_CARE = "region_vard"
    SCHOOL = "skola"
    PROBATION = "frivard"
    VICTIM_SUPPORT = "brottsofferstod"
    CIVIL_SOCIETY = "civilsamhalle"
    OTHER = "annan"


PARTNER_KIND_LABELS = {
    PartnerKind.JOB_CENTRE: _l("Jobbtorg"),
    PartnerKind.SOCIAL_INSURANCE: _l("Socialförsäkring"),
    PartnerKind.POLICE: _l("Polis"),
    PartnerKind.EMPLOYMENT_SERVICE: _l("Arbetsförmedling"),
    PartnerKind.HEALTH_CARE: _l("Regionens hälso- och sjukvård"),
    PartnerKind.SCHOOL: _l("Skola"),
    PartnerKind.PROBATION: _l("Kriminalvård"),
    PartnerKind.VICTIM_SUPPORT: _l("Stöd till brottsoffer"),
    PartnerKind.CIVIL_SOCIETY: _l("Civilsamhället"),
    PartnerKind.OTHER: _l("Annan"),
}

# The seed of the partner list (the administrator maintains it under "Samverkanspartner"): name, kind, channel.
PARTNER_SEED: tuple[tuple[str, PartnerKind, str], ...] = (
    ("Jobbtorg Stockholm", PartnerKind.JOB_CENTRE, "Jobbtorg Vällingby, säker e-post"),
    ("Försäkringskassan", PartnerKind.SOCIAL_INSURANCE, "Försäkringskassans samverkansfunktion"),
    ("Polisen lokalpolisområde Vällingby", PartnerKind.POLICE, "Kommunpolisen, lokalpolisområde Vällingby"),
    ("Arbetsförmedlingen", PartnerKind.EMPLOYMENT_SERVICE, "Arbetsförmedlingen Stockholm väst"),
    ("Region Stockholm", PartnerKind.HEALTH_CARE, "Vårdcentral eller psykiatri, via SIP-samordnare"),
    ("Kriminalvården", PartnerKind.PROBATION, "Frivården Stockholm"),
    ("Relationsvåldscentrum", PartnerKind.VICTIM_SUPPORT, "Relationsvåldscentrum Nordväst"),
    ("Brottsofferjouren", PartnerKind.CIVIL_SOCIETY, "Brottsofferjouren Västerort"),
    ("Stadsdelens skolor", PartnerKind.SCHOOL, "Rektor eller elevhälsa, via utbildningsförvaltningen"),
)


class DataCategory(enum.StrEnum):
    """What a consent covers and what a referral or disclosure shares. The letter holds exactly these."""

    IDENTITY = "identitet"
    CONTACT = "kontakt"
    CASE_SUMMARY = "arende"
    INTERVENTIONS = "insatser"
    DECISIONS = "beslut"
    JOURNAL_EXCERPT = "journalutdrag"
    ASSESSMENT = "bedomning"


CATEGORY_LABELS = {
    DataCategory.IDENTITY: _l("Namn och personnummer"),
    DataCategory.CONTACT: _l("Kontaktuppgifter (telefon, e-post, adress)"),
    DataCategory.CASE_SUMMARY: _l("Vad ärendet gäller"),
    DataCategory.INTERVENTIONS: _l("Pågående och avslutade insatser"),
    DataCategory.DECISIONS: _l("Fattade beslut"),
    DataCategory.JOURNAL_EXCERPT: _l("Utdrag ur journalen"),
    DataCategory.ASSESSMENT: _l("Bedömning och underlag"),
}
CATEGORY_ORDER = tuple(DataCategory)


class ReferralState(enum.StrEnum):
    DRAFT = "utkast"
    SENT = "skickad"
    RECEIVED = "mottagen"
    ACCEPTED = "accepterad"
    DECLINED = "avbojd"
    COMPLETED = "avslutad"
    CANCELLED = "makulerad"


STATE_LABELS = {
    ReferralState.DRAFT: _l("Utkast"),
    ReferralState.SENT: _l("Skickad"),
    ReferralState.RECEIVED: _l("Mottagen"),
    ReferralState.ACCEPTED: _l("Accepterad"),
    ReferralState.DECLINED: _l("Avböjd"),
    ReferralState.COMPLETED: _l("Avslutad"),
    ReferralState.CANCELLED: _l("Makulerad"),
}
# The steps after sending (the partner's side, recorded by the worker).
NEXT_STATES = {
    ReferralState.DRAFT: (ReferralState.CANCELLED,),
    ReferralState.SENT: (ReferralState.RECEIVED, ReferralState.ACCEPTED, ReferralState.DECLINED,
                         ReferralState.CANCELLED),
    ReferralState.RECEIVED: (ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.CANCELLED),
    ReferralState.ACCEPTED: (ReferralState.COMPLETED, ReferralState.CANCELLED),
    ReferralState.DECLINED: (ReferralState.COMPLETED,),
    ReferralState.COMPLETED: (),
    ReferralState.CANCELLED: (),
}
# States in which the referral waits for the partner (the follow-up date applies).
WAITING_STATES = (ReferralState.SENT, ReferralState.RECEIVED)


class Outcome(enum.StrEnum):
    STARTED = "paborjad"
    GRANTED = "beviljad"
    BROKEN_OFF = "avbruten"
    NOT_RELEVANT = "ej_aktuell"
    OTHER = "annat"


OUTCOME_LABELS = {
    Outcome.STARTED: _l("Insatsen hos mottagaren har påbörjats"),
    Outcome.GRANTED: _l("Ersättning eller insats beviljad"),
    Outcome.BROKEN_OFF: _l("Avbruten av personen"),
    Outcome.NOT_RELEVANT: _l("Inte aktuell"),
    Outcome.OTHER: _l("Annat utfall"),
}


class Channel(enum.StrEnum):
    LETTER = "brev"
    SECURE_EMAIL = "saker_epost"
    PHONE = "telefon"
    MEETING = "mote"
    OTHER = "annat"


CHANNEL_LABELS = {
    Channel.LETTER: _l("Brev"),
    Channel.SECURE_EMAIL: _l("Säker e-post"),
    Channel.PHONE: _l("Telefon"),
    Channel.MEETING: _l("Möte"),
    Channel.OTHER: _l("Annat sätt"),
}


@dataclass(frozen=True)
class SharingBasis:
    """A legal basis for disclosing without consent. `recipient_kinds`: the partner kinds the provision allows
    (empty: any); `max_age`: the person must be younger (when the age is known)."""

    code: str
    provision: str
    subject: object
    recipient_kinds: frozenset[PartnerKind] = frozenset()
    max_age: int | None = None
    active: bool = True

    @property
    def label(self) -> str:
        return f"{self.provision} – {self.subject}"


_POLICE = frozenset({PartnerKind.POLICE})

SHARING_BASES: tuple[SharingBasis, ...] = (
    SharingBasis("osl_10_18b", "OSL (2009:400) 10 kap. 18 b §",
                 _l("Uppgift till polisen om en enskild under 21 år, när det behövs för att förebygga att den unge "
                    "begår brott (t.ex. sociala insatsgrupper)"), _POLICE, max_age=21),
    SharingBasis("osl_10_18c", "OSL (2009:400) 10 kap. 18 c §",
                 _l("Uppgift till polisen om att en person riskerar att utsätta en närstående för allvarligt våld, "
                    "när det behövs för att förebygga våldet"), _POLICE),
    SharingBasis("osl_10_21", "OSL (2009:400) 10 kap. 21 §",
                 _l("Uppgift till polis eller åklagare om misstanke om brott mot någon som inte fyllt 18 år"),
                 _POLICE),
    SharingBasis("osl_10_23", "OSL (2009:400) 10 kap. 23 §",
                 _l("Uppgift till polis eller åklagare om misstanke om brott med minst ett års fängelse i "
                    "straffskalan"), _POLICE),
    SharingBasis("osl_10_2", "OSL (2009:400) 10 kap. 2 §",
                 _l("Nödvändigt utlämnande för att nämnden ska kunna fullgöra sin egen verksamhet")),
    SharingBasis("osl_10_28", "OSL (2009:400) 10 kap. 28 §",
                 _l("Uppgiftsskyldighet enligt lag eller förordning (ange vilken i motiveringen, t.ex. "
                    "socialförsäkringsbalken 110 kap. 31 §)")),
)
SHARING_BASIS_BY_CODE = {b.code: b for b in SHARING_BASES}


def sharing_basis_label(code: str | None) -> str:
    basis = SHARING_BASIS_BY_CODE.get(code or "")
    return basis.label if basis else (code or "")


def parse_codes(value: str | None) -> list[str]:
    return [c for c in (value or "").split(",") if c]


def join_codes(codes) -> str:
    return ",".join(str(c) for c in codes)
