"""The risk-assessment catalogue: every instrument item, answer and rating the domestic-violence work uses, in
this one module.

The legal/methods function corrects item wording, adds or retires items here without touching code elsewhere:
forms, validation, views and the demo read the lists below. An item code is never reused or removed once
assessments cite it (old assessments keep their answers under the code); an item that leaves an instrument is
moved to `RETIRED_*` so that old assessments still show its wording. docs/violence.md says which parts follow the
published instruments and which are this system's own wording, to be checked against Socialstyrelsen's
material (FREDA) and the PATRIARK manual (Kropp, Belfrage & Hart).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from caseapp.cases.workflow import FocusArea
from caseapp.i18n import lazy_gettext as _l


class Kind(enum.StrEnum):
    FREDA_KORTFRAGOR = "freda_kortfragor"
    FREDA_BESKRIVNING = "freda_beskrivning"
    FREDA_FARLIGHET = "freda_farlighet"
    PATRIARK = "patriark"
    FRI = "fri"


KIND_LABELS = {
    Kind.FREDA_KORTFRAGOR: _l("FREDA-kortfrågor"),
    Kind.FREDA_BESKRIVNING: _l("FREDA-beskrivning"),
    Kind.FREDA_FARLIGHET: _l("FREDA-farlighetsbedömning"),
    Kind.PATRIARK: _l("PATRIARK (hedersrelaterat våld)"),
    Kind.FRI: _l("Annan strukturerad bedömning"),
}

# Which focus areas offer which instrument. FREDA is the domestic-violence instrument of the brottsoffer work;
# PATRIARK and a free structured assessment may be needed in any case (honour-related violence often comes to
# light in a young person's case in "unga i risk"); the assessment then lives in that person's own case.
KIND_FOCUS: dict[Kind, frozenset[FocusArea] | None] = {
    Kind.FREDA_KORTFRAGOR: frozenset({FocusArea.BROTTSOFFER}),
    Kind.FREDA_BESKRIVNING: frozenset({FocusArea.BROTTSOFFER}),
    Kind.FREDA_FARLIGHET: frozenset({FocusArea.BROTTSOFFER}),
    Kind.PATRIARK: None,  # every focus area
    Kind.FRI: None,
}
# The safety plan (säkerhetsplanering) is offered in brottsoffer cases only; a protection and action plan
# wherever there is a signed assessment to base it on.
SAFETY_PLAN_FOCUS = frozenset({FocusArea.BROTTSOFFER})


def kinds_for(focus: FocusArea) -> list[Kind]:
    return [k for k in Kind if KIND_FOCUS[k] is None or focus in KIND_FOCUS[k]]


class Status(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


STATUS_LABELS = {Status.DRAFT: _l("Utkast"), Status.SIGNED: _l("Signerad")}

# Answers to yes/no questions.
ANSWERS = {"ja": _l("Ja"), "nej": _l("Nej"), "vet_ej": _l("Vet ej")}
# Ratings of a PATRIARK factor, a risk area, and the summary judgement.
RATINGS = {"lag": _l("Låg"), "medel": _l("Medel"), "hog": _l("Hög")}


@dataclass(frozen=True)
class Item:
    code: str
    text: object  # a lazy string
    group: object | None = None


# FREDA-kortfrågor: the short screening questions asked of every client where violence may occur.
# NOTE: the wording follows the intent of Socialstyrelsen's kortfrågor (is the person exposed to violence, threats,
# control or sexual coercion by someone close; are they afraid; are children affected), not the verbatim text.
FREDA_KORTFRAGOR = [
    Item("k1", _l("Har någon som står dig nära (partner, tidigare partner, familjemedlem eller annan närstående) "
                  "slagit, knuffat, sparkat eller på annat sätt gjort dig illa fysiskt?")),
    Item("k2", _l("Har någon närstående hotat dig, kränkt dig eller kontrollerat dig så att du blivit rädd?")),
    Item("k3", _l("Har någon närstående tvingat dig till sexuella handlingar som du inte ville?")),
    Item("k4", _l("Har någon närstående tagit dina pengar, hindrat dig från att arbeta eller förstört dina saker?")),
    Item("k5", _l("Är du rädd för någon som står dig nära just nu?")),
    Item("k6", _l("Har barn i familjen sett, hört eller själva utsatts för våld?")),
]

# FREDA-beskrivning: the kinds of violence, how often, since when, the latest incident, injuries, children.
VIOLENCE_TYPES = [
    Item("fysiskt", _l("Fysiskt våld")),
    Item("psykiskt", _l("Psykiskt våld")),
    Item("sexuellt", _l("Sexuellt våld")),
    Item("ekonomiskt", _l("Ekonomiskt våld")),
    Item("materiellt", _l("Materiellt våld")),
    Item("latent", _l("Latent våld")),
    Item("forsummelse", _l("Försummelse")),
]
FREQUENCIES = {
    "en_gang": _l("En gång"),
    "nagra_ganger": _l("Några gånger"),
    "manatligen": _l("Varje månad"),
    "veckovis": _l("Varje vecka"),
    "dagligen": _l("Dagligen"),
}
# When the violence started (FREDA-beskrivning asks how long the violence has been going on).
STARTED = {
    "senaste_manaden": _l("Den senaste månaden"),
    "senaste_aret": _l("Det senaste året"),
    "ett_till_fem_ar": _l("För ett till fem år sedan"),
    "mer_an_fem_ar": _l("För mer än fem år sedan"),
    "vet_ej": _l("Vet ej"),
}

# FREDA-farlighetsbedömning: risk factors, each answered yes/no/unknown, then the worker's own judgement.
# NOTE: the list follows the risk factors of the published instrument as far as known here (escalation,
# strangling, threats to kill, weapons, separation, jealousy and control, substance abuse, violence against
# children and others, pregnancy, the victim's own fear); the exact wording and number of items must be checked
# against Socialstyrelsen's current FREDA-farlighetsbedömning.
FREDA_FARLIGHET = [
    Item("f1", _l("Har våldet blivit vanligare under det senaste året?")),
    Item("f2", _l("Har våldet blivit grövre under det senaste året?")),
    Item("f3", _l("Har personen någon gång försökt strypa eller kväva dig?")),
    Item("f4", _l("Har personen hotat att döda dig?")),
    Item("f5", _l("Har personen använt eller hotat med vapen eller tillhyggen?")),
    Item("f6", _l("Har personen tillgång till vapen?")),
    Item("f7", _l("Har du separerat eller försökt separera från personen under det senaste året?")),
    Item("f8", _l("Är personen svartsjuk eller kontrollerar hen dig i vardagen?")),
    Item("f9", _l("Förföljer eller trakasserar personen dig?")),
    Item("f10", _l("Har personen tvingat dig till sex?")),
    Item("f11", _l("Har personen utsatt dig för våld när du var gravid?")),
    Item("f12", _l("Har personen hotat eller skadat barnen?")),
    Item("f13", _l("Är personen våldsam mot andra än dig?")),
    Item("f14", _l("Missbrukar personen alkohol, narkotika eller läkemedel?")),
    Item("f15", _l("Har personen hotat att ta sitt eget liv?")),
    Item("f16", _l("Har personen brutit mot ett kontaktförbud eller liknande?")),
    Item("f17", _l("Tror du att personen kan skada dig allvarligt eller döda dig?")),
]

# PATRIARK: 15 factors in three parts of five (the pattern of the honour-related violence, the perpetrators'
# psychosocial situation, the victim's vulnerability), each rated low/medium/high. Then the summary judgements.
# NOTE: the three parts and the count follow Socialstyrelsen's description of PATRIARK (metodguiden); the factor
# names are this system's Swedish rendering and must be checked against the PATRIARK manual.
PATRIARK_PARTS = {
    "monster": _l("Mönstret i det hedersrelaterade våldet"),
    "garningsperson": _l("Gärningspersonens psykosociala situation"),
    "offer": _l("Offrets sårbarhet"),
}
PATRIARK_FACTORS = [
    Item("p1", _l("Tidigare hedersrelaterat våld"), "monster"),
    Item("p2", _l("Hot om eller planer på hedersrelaterat våld"), "monster"),
    Item("p3", _l("Våldet eskalerar i frekvens eller allvar"), "monster"),
    Item("p4", _l("Flera gärningspersoner eller kollektivt beslut"), "monster"),
    Item("p5", _l("Brott mot skyddsåtgärder eller kontaktförbud"), "monster"),
    Item("p6", _l("Attityder som stödjer hedersrelaterat våld"), "garningsperson"),
    Item("p7", _l("Tidigare våld eller annan kriminalitet"), "garningsperson"),
    Item("p8", _l("Personliga problem (missbruk, psykisk ohälsa)"), "garningsperson"),
    Item("p9", _l("Problem kopplade till migration eller integration"), "garningsperson"),
    Item("p10", _l("Press från familj, släkt eller omgivning"), "garningsperson"),
    Item("p11", _l("Offrets ambivalens eller inkonsekventa beteende"), "offer"),
    Item("p12", _l("Offrets extrema rädsla"), "offer"),
    Item("p13", _l("Bristande tillgång till stöd och resurser"), "offer"),
    Item("p14", _l("Isolering eller livsomständigheter som ökar sårbarheten"), "offer"),
    Item("p15", _l("Offrets ålder, hälsa eller beroendeställning"), "offer"),
]

# A free structured assessment (another method, for example SARA or SAM): up to this many risk areas.
FREE_AREAS = 6

# Items retired from an instrument but still cited by old assessments (code -> wording). Empty for now.
RETIRED_ITEMS: dict[str, object] = {}

ITEMS_BY_KIND: dict[Kind, list[Item]] = {
    Kind.FREDA_KORTFRAGOR: FREDA_KORTFRAGOR,
    Kind.FREDA_FARLIGHET: FREDA_FARLIGHET,
    Kind.PATRIARK: PATRIARK_FACTORS,
    Kind.FREDA_BESKRIVNING: VIOLENCE_TYPES,
    Kind.FRI: [],
}
# Kinds that end in a summary judgement of the risk (level low/medium/high and acute or not).
JUDGED = frozenset({Kind.FREDA_FARLIGHET, Kind.PATRIARK, Kind.FRI})


def item_text(kind: Kind, code: str) -> object:
    for item in ITEMS_BY_KIND.get(kind, []):
        if item.code == code:
            return item.text
    return RETIRED_ITEMS.get(code, code)


class PlanKind(enum.StrEnum):
    SKYDD = "skydd"  # skydds- och åtgärdsplan
    SAKERHET = "sakerhet"  # säkerhetsplanering


PLAN_LABELS = {PlanKind.SKYDD: _l("Skydds- och åtgärdsplan"), PlanKind.SAKERHET: _l("Säkerhetsplanering")}

# Fields of a safety plan (säkerhetsplanering), all free text about the person.
SAFETY_FIELDS = {
    "channels": _l("Säkra kontaktvägar"),
    "places": _l("Säkra mötesplatser"),
    "code_words": _l("Överenskomna kodord"),
    "who_to_call": _l("Vem personen ringer vid fara"),
    "notes": _l("Övrigt"),
}
PLAN_MEASURES = 6  # rows of measures on a protection and action plan form
REVIEW_MAX_DAYS = 366  # a review date at most a year ahead
