"""Referral forms: fields and CSRF only; the rules live in `operations` (Swedish messages per field)."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from caseapp.cases.catalogue import CONSENT_FORM_LABELS, CONSENT_GIVER_LABELS
from caseapp.cases.forms import CaseworkForm, SvDateField, _choices
from caseapp.i18n import lazy_gettext as _l
from caseapp.referrals.catalogue import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    OUTCOME_LABELS,
    PARTNER_KIND_LABELS,
    SHARING_BASES,
)


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; unknown values are reported by the operations, not dropped silently."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # the operations check the values
        pass


def _bases():
    return [("", _l("Ingen – uppgifterna lämnas med samtycke"))] + [(b.code, b.label) for b in SHARING_BASES
                                                                     if b.active]


class ConsentForm(CaseworkForm):
    giver = SelectField(_l("Samtycke från"), choices=_choices(CONSENT_GIVER_LABELS, _l("Välj …")),
                        validate_choice=False)
    giver_name = StringField(_l("Vårdnadshavarens namn"), render_kw={"maxlength": 120})
    form = SelectField(_l("Form"), choices=_choices(CONSENT_FORM_LABELS, _l("Välj …")), validate_choice=False)
    given_on = SvDateField(_l("Lämnat den"))
    valid_from = SvDateField(_l("Gäller från"))
    valid_to = SvDateField(_l("Gäller till och med"))
    partner_ids = CheckboxesField(_l("Mottagare"), choices=[])
    partner_kinds = CheckboxesField(_l("Alla mottagare av slaget"), choices=_choices(PARTNER_KIND_LABELS))
    categories = CheckboxesField(_l("Uppgifter som får lämnas"), choices=_choices(CATEGORY_LABELS))
    purpose = TextAreaField(_l("Syfte"), render_kw={"rows": 3, "maxlength": 4000})
    notes = TextAreaField(_l("Övrigt om samtycket"), render_kw={"rows": 2, "maxlength": 4000})


class WithdrawForm(CaseworkForm):
    withdrawn_on = SvDateField(_l("Återkallat den"))


class ReferralForm(CaseworkForm):
    partner_id = SelectField(_l("Mottagare"), validate_choice=False)
    purpose = TextAreaField(_l("Syfte med remissen"), render_kw={"rows": 3, "maxlength": 4000})
    categories = CheckboxesField(_l("Uppgifter som lämnas"), choices=_choices(CATEGORY_LABELS))
    include_address = BooleanField(_l("Ta med adressen trots sekretessmarkering"))
    consent_id = SelectField(_l("Samtycke som remissen bygger på"), validate_choice=False)
    legal_basis = SelectField(_l("Rättslig grund utan samtycke"), choices=_bases, validate_choice=False)
    justification = TextAreaField(_l("Motivering för utlämnande utan samtycke"),
                                  render_kw={"rows": 3, "maxlength": 4000})
    journal_excerpt = TextAreaField(_l("Utdrag ur journalen"), render_kw={"rows": 4, "maxlength": 8000})
    assessment = TextAreaField(_l("Bedömning och underlag"), render_kw={"rows": 4, "maxlength": 8000})
    follow_up_on = SvDateField(_l("Följ upp senast"))


class SendForm(CaseworkForm):
    channel = SelectField(_l("Skickas som"), choices=_choices(CHANNEL_LABELS), validate_choice=False)
    confirm_protected = BooleanField(_l("Jag har granskat brevet: det innehåller inget som kan röja var personen "
                                        "finns, och utlämnandet är prövat."))


class LetterForm(CaseworkForm):
    confirm_protected = BooleanField(_l("Jag har granskat brevet: det innehåller inget som kan röja var personen "
                                        "finns, och utlämnandet är prövat."))


class ProgressForm(CaseworkForm):
    target = SelectField(_l("Vad har hänt"), validate_choice=False)
    on = SvDateField(_l("Datum"))
    text = TextAreaField(_l("Mottagarens svar, utfall eller skäl"), render_kw={"rows": 3, "maxlength": 4000})
    outcome_code = SelectField(_l("Utfall"), choices=_choices(OUTCOME_LABELS, _l("Välj …")), validate_choice=False)
    follow_up_on = SvDateField(_l("Ny uppföljning senast"))


class DisclosureForm(CaseworkForm):
    partner_id = SelectField(_l("Mottagare"), validate_choice=False)
    recipient_detail = StringField(_l("Vem hos mottagaren"), render_kw={"maxlength": 200})
    consent_id = SelectField(_l("Samtycke"), validate_choice=False)
    legal_basis = SelectField(_l("Rättslig grund utan samtycke"), choices=_bases, validate_choice=False)
    justification = TextAreaField(_l("Motivering"), render_kw={"rows": 3, "maxlength": 4000})
    categories = CheckboxesField(_l("Uppgifter som lämnades"), choices=_choices(CATEGORY_LABELS))
    description = TextAreaField(_l("Vad som lämnades ut"), render_kw={"rows": 3, "maxlength": 4000})
    channel = SelectField(_l("Hur"), choices=_choices(CHANNEL_LABELS, _l("Välj …")), validate_choice=False)
    disclosed_on = SvDateField(_l("Lämnades ut den"))


class PartnerForm(CaseworkForm):
    name = StringField(_l("Namn"), render_kw={"maxlength": 120})
    kind = SelectField(_l("Slag"), choices=_choices(PARTNER_KIND_LABELS, _l("Välj …")), validate_choice=False)
    contact = StringField(_l("Kontaktväg (organisationens, inte en persons)"), render_kw={"maxlength": 200})
    active = BooleanField(_l("Aktiv"), default=True)
