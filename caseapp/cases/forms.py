"""Casework forms. They carry the fields and the CSRF token; the rules about the data live in `operations`
(one place, also used by tests and the CLI), which reports refusals per field in Swedish."""

from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField

from caseapp.cases.catalogue import (
    CONSENT_FORM_LABELS,
    CONSENT_GIVER_LABELS,
    DECISION_LABELS,
    ENTRY_TYPE_LABELS,
    INTERVENTION_STATUS_LABELS,
    RELATION_LABELS,
)
from caseapp.cases.workflow import FOCUS_LABELS, INTAKE_LABELS
from caseapp.forms import AppForm
from caseapp.i18n import lazy_gettext as _l


class SvDateField(DateField):
    """A date field whose parse error is Swedish (operations check the range)."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Ange ett giltigt datum (ÅÅÅÅ-MM-DD)."))) from None


class SvIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Ange ett heltal."))) from None


def _choices(labels, blank=None):
    def build():
        items = [(k.value if hasattr(k, "value") else k, v) for k, v in labels.items()]
        return ([("", blank)] if blank is not None else []) + items
    return build


class CaseworkForm(AppForm):
    """Shared: operations errors are attached to the fields (or shown above the form for "")."""

    def add_errors(self, errors: dict[str, str]) -> list[str]:
        general = []
        for name, message in errors.items():
            field = getattr(self, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message]
            else:
                general.append(message)
        return general

    def has_field_errors(self) -> bool:
        """Whether any field shows an error (a malformed date, or a refusal from the operations)."""
        return any(f.errors for f in self if f.name != "csrf_token")


_TEXT = {"rows": 8}


class NewCaseForm(CaseworkForm):
    focus = SelectField(_l("Fokusområde"), choices=_choices(FOCUS_LABELS, _l("Välj …")), validate_choice=False)
    intake = SelectField(_l("Hur ärendet kom in"), choices=_choices(INTAKE_LABELS, _l("Välj …")),
                         validate_choice=False)
    received_on = SvDateField(_l("Datum då ärendet aktualiserades"))
    summary = TextAreaField(_l("Vad ärendet gäller"), render_kw={"rows": 4, "maxlength": 4000})
    child = BooleanField(_l("Personen är under 18 år (anges bara om personnummer saknas)"))


class TransitionForm(CaseworkForm):
    target = SelectField(_l("Nästa steg"), validate_choice=False)
    reason = TextAreaField(_l("Skäl"), render_kw={"rows": 2, "maxlength": 2000, "class": "short"})


class SkyddsbedomningForm(CaseworkForm):
    done_on = SvDateField(_l("Skyddsbedömningen gjordes"))


class AssignForm(CaseworkForm):
    worker = SelectField(_l("Medarbetare"), validate_choice=False)
    responsible = BooleanField(_l("Ansvarig handläggare"))


class EntryForm(CaseworkForm):
    entry_type = SelectField(_l("Typ"), choices=_choices(ENTRY_TYPE_LABELS, _l("Välj …")), validate_choice=False)
    event_date = SvDateField(_l("Datum för händelsen"))
    text = TextAreaField(_l("Anteckning"), render_kw={"rows": 10, "maxlength": 20000})


class CorrectionForm(EntryForm):
    reason = TextAreaField(_l("Varför rättas anteckningen?"), render_kw={"rows": 3, "maxlength": 2000})


class ObjectionForm(CaseworkForm):
    stated_on = SvDateField(_l("Datum då personen framförde invändningen"))
    text = TextAreaField(_l("Personens invändning"), render_kw={"rows": 6, "maxlength": 4000})


class DecisionForm(CaseworkForm):
    kind = SelectField(_l("Beslut"), choices=_choices(DECISION_LABELS, _l("Välj …")), validate_choice=False)
    legal_basis = SelectField(_l("Lagrum"), validate_choice=False)
    decided_on = SvDateField(_l("Beslutsdatum"))
    extends_to = SvDateField(_l("Ny tidsgräns för utredningen (bara vid förlängning)"))
    text = TextAreaField(_l("Motivering"), render_kw={"rows": 6, "maxlength": 4000})


class ReviewForm(CaseworkForm):
    outcome = RadioField(_l("Ditt beslut"), choices=[("approve", _l("Godkänn och fatta beslutet")),
                                                       ("return", _l("Återförvisa till handläggaren"))],
                         validate_choice=False)
    note = TextAreaField(_l("Kommentar (krävs vid återförvisning)"), render_kw={"rows": 3, "maxlength": 2000})


class InterventionForm(CaseworkForm):
    type_id = SelectField(_l("Insats"), validate_choice=False)
    status = SelectField(_l("Status"), choices=_choices(INTERVENTION_STATUS_LABELS), validate_choice=False)
    start_on = SvDateField(_l("Startdatum"))
    end_on = SvDateField(_l("Slutdatum (om det är bestämt)"))
    responsible_id = SelectField(_l("Ansvarig"), validate_choice=False)
    decision_id = SelectField(_l("Beslut som insatsen bygger på"), validate_choice=False)
    goals = TextAreaField(_l("Mål"), render_kw={"rows": 4, "maxlength": 4000})
    plan = TextAreaField(_l("Genomförandeplan"), render_kw={"rows": 8, "maxlength": 20000})
    plan_agreed_on = SvDateField(_l("Genomförandeplanen gjordes med personen den"))


class FollowUpForm(CaseworkForm):
    due_on = SvDateField(_l("Uppföljning senast"))


class FollowUpDoneForm(CaseworkForm):
    done_on = SvDateField(_l("Uppföljningen gjordes"))
    notes = TextAreaField(_l("Vad visade uppföljningen?"), render_kw={"rows": 3, "maxlength": 4000})


class ConsentForm(CaseworkForm):
    giver = SelectField(_l("Samtycke från"), choices=_choices(CONSENT_GIVER_LABELS, _l("Välj …")),
                        validate_choice=False)
    form = SelectField(_l("Form"), choices=_choices(CONSENT_FORM_LABELS, _l("Välj …")), validate_choice=False)
    given_on = SvDateField(_l("Lämnat den"))
    valid_until = SvDateField(_l("Gäller till och med"))
    scope = TextAreaField(_l("Mottagare och uppgifter som samtycket gäller"), render_kw={"rows": 3,
                                                                                      "maxlength": 2000})


class WithdrawForm(CaseworkForm):
    withdrawn_on = SvDateField(_l("Återkallat den"))


class GroupForm(CaseworkForm):
    type_id = SelectField(_l("Verksamhet"), validate_choice=False)
    name = StringField(_l("Gruppens namn"), render_kw={"maxlength": 120})
    schedule = StringField(_l("Tid och plats"), render_kw={"maxlength": 200})
    leader_id = SelectField(_l("Gruppledare"), validate_choice=False)
    co_leader_id = SelectField(_l("Medledare"), validate_choice=False)
    start_on = SvDateField(_l("Startdatum"))
    end_on = SvDateField(_l("Slutdatum"))


class SessionForm(CaseworkForm):
    held_on = SvDateField(_l("Datum"))
    topic = StringField(_l("Tema"), render_kw={"maxlength": 200})
    other_participants = SvIntegerField(_l("Övriga deltagare utan akt (antal)"))


class MemberForm(CaseworkForm):
    case_id = SelectField(_l("Deltagare (genom ärende)"), validate_choice=False)
    joined_on = SvDateField(_l("Deltar från"))


class LeaveForm(CaseworkForm):
    left_on = SvDateField(_l("Deltog till och med"))


class RelationForm(CaseworkForm):
    relative = StringField(_l("Den anhöriges personnummer"), render_kw={"autocomplete": "off", "maxlength": 40})
    kind = SelectField(_l("Den anhörige är"), choices=_choices(RELATION_LABELS, _l("Välj …")), validate_choice=False)


class SearchForm(CaseworkForm):
    q = StringField(_l("Personnummer, namn eller ärendenummer"), render_kw={"autocomplete": "off", "maxlength": 200})


class TypeForm(CaseworkForm):
    code = StringField(_l("Kod"), render_kw={"maxlength": 40})
    focus = SelectField(_l("Fokusområde"), choices=_choices(FOCUS_LABELS, _l("Välj …")), validate_choice=False)
    name = StringField(_l("Namn"), render_kw={"maxlength": 120})
    name_en = StringField(_l("Namn på engelska"), render_kw={"maxlength": 120})
    description = TextAreaField(_l("Beskrivning"), render_kw={"rows": 3, "maxlength": 2000})
    partners = StringField(_l("Samverkansparter"), render_kw={"maxlength": 200})
    needs_consent = BooleanField(_l("Kräver samtycke (till exempel SIG)"))
    group_based = BooleanField(_l("Ges i grupp (cirkel, skolpass)"))
    needs_decision = BooleanField(_l("Ges som bistånd och kräver beviljande beslut"))
    active = BooleanField(_l("Aktiv (kan väljas för nya insatser)"), default=True)
