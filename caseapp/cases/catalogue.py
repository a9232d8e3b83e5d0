"""The casework catalogue: every list of codes casework uses, in one place.

- journal entry types, decision kinds (and which need the unit manager's approval), relation kinds, consent givers;
- the legal bases a decision can cite, with the period each is valid for;
- the seed of the intervention catalogue (the catalogue itself lives in the database, `InterventionType`, and
  the administrator edits it; `ensure_intervention_catalogue` adds the seed where it is missing).

Legal bases. From 1 July 2025 the Socialtjänstlag (2025:400) replaced the Socialtjänstlag (2001:453); decisions
made before that date keep citing the old law, so both stay here, each with its validity period, and a decision
can only cite a basis valid on the decision date. A code is never reused or removed (old decisions refer to it);
a basis that ends gets a `valid_to`. Where the paragraph of the new law has not been verified against SFS 2025:400
the entry names the law without a paragraph: the legal function completes it here, in this one place
(docs/access-rules.md, "Catalogue").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from caseapp.cases.workflow import FocusArea
from caseapp.i18n import lazy_gettext as _l

NEW_SOL = date(2025, 7, 1)  # Socialtjänstlag (2025:400) in force


class EntryType(enum.StrEnum):
    KONTAKT = "kontakt"
    MOTE = "mote"
    TELEFON = "telefon"
    HEMBESOK = "hembesok"
    BEDOMNING = "bedomning"
    BESLUT = "beslut"
    ANTECKNING = "anteckning"


ENTRY_TYPE_LABELS = {
    EntryType.KONTAKT: _l("Kontakt"),
    EntryType.MOTE: _l("Möte"),
    EntryType.TELEFON: _l("Telefonsamtal"),
    EntryType.HEMBESOK: _l("Hembesök"),
    EntryType.BEDOMNING: _l("Bedömning"),
    EntryType.BESLUT: _l("Beslut"),
    EntryType.ANTECKNING: _l("Anteckning"),
}


class DecisionKind(enum.StrEnum):
    INLEDA_UTREDNING = "inleda_utredning"
    INTE_INLEDA_UTREDNING = "inte_inleda_utredning"
    BIFALL = "bifall"
    AVSLAG = "avslag"
    FORLANGD_UTREDNINGSTID = "forlangd_utredningstid"
    AVSLUTA_INSATS = "avsluta_insats"


DECISION_LABELS = {
    DecisionKind.INLEDA_UTREDNING: _l("Inleda utredning"),
    DecisionKind.INTE_INLEDA_UTREDNING: _l("Inte inleda utredning"),
    DecisionKind.BIFALL: _l("Bistånd beviljas"),
    DecisionKind.AVSLAG: _l("Avslag på ansökan om bistånd"),
    DecisionKind.FORLANGD_UTREDNINGSTID: _l("Förlängd utredningstid"),
    DecisionKind.AVSLUTA_INSATS: _l("Insatsen upphör"),
}
# Decisions that the delegation order gives to the unit manager: a worker's proposal waits for approval.
NEEDS_APPROVAL = frozenset({DecisionKind.BIFALL, DecisionKind.AVSLAG, DecisionKind.FORLANGD_UTREDNINGSTID})


class DecisionStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    RETURNED = "returned"


DECISION_STATUS_LABELS = {
    DecisionStatus.PROPOSED: _l("Väntar på enhetschefens godkännande"),
    DecisionStatus.APPROVED: _l("Fattat"),
    DecisionStatus.RETURNED: _l("Återförvisat av enhetschefen"),
}


@dataclass(frozen=True)
class LegalBasis:
    code: str
    subject: object  # lazy string: what the provision is about
    law: str  # the statute, with its SFS number
    provision: str | None  # "11 kap. 1 §"; None where not yet verified (see module doc)
    valid_from: date | None
    valid_to: date | None
    kinds: frozenset[DecisionKind]

    @property
    def label(self) -> str:
        ref = f"{self.law} {self.provision}" if self.provision else self.law
        return f"{self.subject} – {ref}"

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)


_OLD = "SoL (2001:453)"
_NEW = "SoL (2025:400)"
_OLD_END = date(2025, 6, 30)
_INVESTIGATE = frozenset({DecisionKind.INLEDA_UTREDNING, DecisionKind.INTE_INLEDA_UTREDNING})
_ASSIST = frozenset({DecisionKind.BIFALL, DecisionKind.AVSLAG, DecisionKind.AVSLUTA_INSATS})
_EXTEND = frozenset({DecisionKind.FORLANGD_UTREDNINGSTID})

LEGAL_BASES: tuple[LegalBasis, ...] = (
    # Socialtjänstlag (2025:400), in force from 1 July 2025.
    LegalBasis("sol2025_bistand", _l("Bistånd efter individuell behovsprövning"), _NEW, "11 kap. 1 §", NEW_SOL, None,
               _ASSIST),
    LegalBasis("sol2025_forhandsbedomning", _l("Förhandsbedömning efter anmälan om barn eller unga"), _NEW,
               "20 kap. 2 §", NEW_SOL, None, _INVESTIGATE),
    LegalBasis("sol2025_utredning", _l("Utredning av vad som kommit till nämndens kännedom"), _NEW, None, NEW_SOL,
               None, _INVESTIGATE),
    LegalBasis("sol2025_utredningstid_barn", _l("Utredningstid för barn och unga, förlängning vid särskilda skäl"),
               _NEW, None, NEW_SOL, None, _EXTEND),
    LegalBasis("sol2025_brottsoffer", _l("Stöd till brottsoffer och till våldsutsatta närstående"), _NEW, None,
               NEW_SOL, None, _ASSIST),
    # Socialtjänstlag (2001:453), for decisions made before 1 July 2025.
    LegalBasis("sol2001_4_1", _l("Rätt till bistånd"), _OLD, "4 kap. 1 §", None, _OLD_END, _ASSIST),
    LegalBasis("sol2001_4_2", _l("Bistånd utöver rätten till bistånd"), _OLD, "4 kap. 2 §", None, _OLD_END, _ASSIST),
    LegalBasis("sol2001_5_11", _l("Stöd till brottsoffer och till våldsutsatta närstående"), _OLD, "5 kap. 11 §",
               None, _OLD_END, _ASSIST),
    LegalBasis("sol2001_11_1", _l("Utredning av vad som kommit till nämndens kännedom"), _OLD, "11 kap. 1 §", None,
               _OLD_END, _INVESTIGATE),
    LegalBasis("sol2001_11_1a", _l("Skyddsbedömning och förhandsbedömning efter anmälan om barn"), _OLD,
               "11 kap. 1 a §", None, _OLD_END, _INVESTIGATE),
    LegalBasis("sol2001_11_2", _l("Utredningstid för barn, förlängning vid särskilda skäl"), _OLD, "11 kap. 2 §",
               None, _OLD_END, _EXTEND),
)
LEGAL_BASIS_BY_CODE = {b.code: b for b in LEGAL_BASES}


def legal_bases_for(kind: DecisionKind | None, on: date) -> list[LegalBasis]:
    """The bases a decision of `kind` made on `on` may cite (all kinds when `kind` is None)."""
    return [b for b in LEGAL_BASES if b.valid_on(on) and (kind is None or kind in b.kinds)]


def legal_basis_label(code: str | None) -> str:
    basis = LEGAL_BASIS_BY_CODE.get(code or "")
    return basis.label if basis else (code or "")


class RelationKind(enum.StrEnum):
    FORALDER = "foralder"
    BARN = "barn"
    SYSKON = "syskon"
    PARTNER = "partner"
    ANNAN = "annan"


RELATION_LABELS = {
    RelationKind.FORALDER: _l("förälder eller vårdnadshavare"),
    RelationKind.BARN: _l("barn"),
    RelationKind.SYSKON: _l("syskon"),
    RelationKind.PARTNER: _l("partner eller make/maka"),
    RelationKind.ANNAN: _l("annan anhörig"),
}


class InterventionStatus(enum.StrEnum):
    PLANNED = "planerad"
    ACTIVE = "pagaende"
    ENDED = "avslutad"


INTERVENTION_STATUS_LABELS = {
    InterventionStatus.PLANNED: _l("Planerad"),
    InterventionStatus.ACTIVE: _l("Pågående"),
    InterventionStatus.ENDED: _l("Avslutad"),
}


class ConsentGiver(enum.StrEnum):
    PERSON = "personen"
    GUARDIAN = "vardnadshavare"


CONSENT_GIVER_LABELS = {
    ConsentGiver.PERSON: _l("Personen själv"),
    ConsentGiver.GUARDIAN: _l("Vårdnadshavare"),
}
CONSENT_FORM_LABELS = {"muntligt": _l("Muntligt"), "skriftligt": _l("Skriftligt")}


@dataclass(frozen=True)
class InterventionSeed:
    code: str
    focus: FocusArea
    name: str
    name_en: str
    description: str
    needs_consent: bool = False  # SIG: the young person's consent, and the guardian's for a minor
    group_based: bool = False  # given as a group (circle, school session): groups are made of this type
    needs_decision: bool = False  # given as bistånd: needs a granted decision in the case
    partners: str = ""


INTERVENTION_SEED: tuple[InterventionSeed, ...] = (
    InterventionSeed("skolnarvaro", FocusArea.UNGA_I_RISK, "Skolnärvaroprogrammet", "School attendance programme",
                     "Stöd till elev och familj för att öka närvaron i skolan, tillsammans med skolan.",
                     partners="Skolan"),
    InterventionSeed("sig", FocusArea.UNGA_I_RISK, "Social insatsgrupp (SIG)", "Social intervention group (SIG)",
                     "Samverkan med polisen för unga 15–25 år. Socialtjänsten äger handlingsplanen; den unges samtycke "
                     "och vårdnadshavarens för den som är under 18 krävs.",
                     needs_consent=True, partners="Polisen (lokalpolisområde Vällingby), skolan"),
    InterventionSeed("faltkontakt", FocusArea.UNGA_I_RISK, "Fältassistentkontakt", "Field worker contact",
                     "Uppsökande och stödjande kontakt med fältassistent."),
    InterventionSeed("fritid_uppsokande", FocusArea.UNGA_I_RISK, "Fritidsledares uppsökande arbete",
                     "Youth leaders' outreach", "Fritidsledare i skolan och på fritidsgården.",
                     partners="Skolan, fritidsgården"),
    InterventionSeed("valdsprevention", FocusArea.UNGA_I_RISK, "Våldsprevention i skolan",
                     "Violence prevention in schools",
                     "Fältassistenternas våldsförebyggande pass i skolan, tillsammans med utbildningsförvaltningen.",
                     group_based=True, partners="Utbildningsförvaltningen"),
    InterventionSeed("motivation", FocusArea.LAMNA_KRIMINALITET, "Motivationsstöd", "Motivational support",
                     "Samtal och stöd som stärker motivationen att lämna en kriminell livsstil."),
    InterventionSeed("egen_forsorjning", FocusArea.LAMNA_KRIMINALITET, "Stöd mot egen försörjning",
                     "Support towards self-support",
                     "Planering tillsammans med Jobbtorg Stockholm och Försäkringskassan. Samtycke krävs innan "
                     "uppgifter lämnas till samverkansparterna.",
                     needs_consent=True, partners="Jobbtorg Stockholm, Försäkringskassan"),
    InterventionSeed("boende", FocusArea.LAMNA_KRIMINALITET, "Boendeinsats", "Housing support",
                     "Bistånd till boende, till exempel skyddat eller tillfälligt boende.", needs_decision=True),
    InterventionSeed("anhorig_individuellt", FocusArea.ANHORIGSTOD, "Individuellt anhörigstöd",
                     "Individual support for relatives", "Samtalsstöd till anhörig till en person i kriminalitet."),
    InterventionSeed("anhorigcirkel", FocusArea.ANHORIGSTOD, "Anhörigcirkel", "Support circle for relatives",
                     "Samtalsgrupp för anhöriga som träffas under en termin.", group_based=True),
    InterventionSeed("stodsamtal_brottsoffer", FocusArea.BROTTSOFFER, "Stödsamtal för våldsutsatta",
                     "Support talks for victims", "Stöd och samtal till den som utsatts för våld i nära relation."),
    InterventionSeed("skyddat_boende", FocusArea.BROTTSOFFER, "Skyddat boende", "Sheltered housing",
                     "Placering i skyddat boende.", needs_decision=True),
)
