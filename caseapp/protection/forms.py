"""Forms for the access list, the record of having informed the person, victim links and witnessing children.
The rules about the data are in `operations`."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from caseapp.cases.forms import CaseworkForm, SvDateField
from caseapp.i18n import lazy_gettext as _l
from caseapp.people.models import PROTECTION_LABELS


class GrantForm(CaseworkForm):
    user_id = SelectField(_l("Medarbetare"), validate_choice=False)


class RevokeForm(CaseworkForm):
    pass


class NoticeForm(CaseworkForm):
    informed_on = SvDateField(_l("Personen informerades"))
    informed_by = SelectField(_l("Informerad av"), validate_choice=False)


class OverrideAssignForm(CaseworkForm):
    worker = SelectField(_l("Medarbetare"), validate_choice=False)
    responsible = BooleanField(_l("Ansvarig handläggare"))
    override_reason = TextAreaField(_l("Motivering till undantaget"), render_kw={"rows": 3, "maxlength": 2000})


class LinkForm(CaseworkForm):
    perpetrator_identity = StringField(_l("Personnummer för den som utövar våldet"), render_kw={"maxlength": 40,
                                                                                               "autocomplete": "off"})
    perpetrator_reference = StringField(_l("Ärendenummer hos förövarprogrammet (om det finns)"),
                                        render_kw={"maxlength": 16, "autocomplete": "off"})
    override_reason = TextAreaField(_l("Motivering om samma medarbetare arbetar med båda (enhetschef)"),
                                    render_kw={"rows": 2, "maxlength": 2000})


class EndLinkForm(CaseworkForm):
    pass


def _protection_choices():
    return [("", _l("Samma som den våldsutsatta"))] + [(k.value, v) for k, v in PROTECTION_LABELS.items()]


class ChildForm(CaseworkForm):
    identity = StringField(_l("Barnets personnummer"), render_kw={"maxlength": 40, "autocomplete": "off"})
    given_name = StringField(_l("Förnamn (om barnet inte är registrerat)"), render_kw={"maxlength": 100})
    family_name = StringField(_l("Efternamn (om barnet inte är registrerat)"), render_kw={"maxlength": 100})
    protection = SelectField(_l("Skyddade personuppgifter"), choices=_protection_choices, validate_choice=False)
