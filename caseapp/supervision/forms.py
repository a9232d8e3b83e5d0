from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import UUID, DataRequired, Length, Optional, ValidationError

from caseapp.forms import AppForm
from caseapp.i18n import lazy_gettext as _l
from caseapp.security.audit import ACTIONS


class EventFilterForm(AppForm):
    """Filters of the log page (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    user = SelectField(_l("Användare"), validators=[Optional()], validate_choice=True)
    unit = SelectField(_l("Enhet"), validators=[Optional()], validate_choice=True)
    action = SelectField(_l("Händelse"), validators=[Optional()], validate_choice=True,
                         choices=[("", _l("Alla"))] + [(a, a) for a in sorted(ACTIONS)])
    person = StringField(_l("Person-id"), validators=[Optional(), UUID(_l("Ange ett person-id (UUID)."))])
    object_id = StringField(_l("Ärende- eller objekt-id"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("Från och med"), validators=[Optional()])
    date_to = DateField(_l("Till och med"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("Slutdatumet ligger före startdatumet."))


class PersonLookupForm(AppForm):
    class Meta:
        csrf = False

    person = StringField(_l("Person-id"), validators=[DataRequired(_l("Ange ett person-id.")),
                                                     UUID(_l("Ange ett person-id (UUID)."))])


class ReviewForm(AppForm):
    comment = TextAreaField(_l("Kommentar"), validators=[Optional(), Length(max=2000)])


class SampleItemForm(AppForm):
    finding = RadioField(_l("Bedömning"), validators=[DataRequired(_l("Välj en bedömning."))],
                         choices=[("ok", _l("Utan anmärkning")), ("question", _l("Fråga till användaren")),
                                  ("deviation", _l("Avvikelse"))])
    note = TextAreaField(_l("Anteckning"), validators=[Optional(), Length(max=2000)])


class SignOffForm(AppForm):
    conclusion = RadioField(_l("Slutsats"), validators=[DataRequired(_l("Välj en slutsats."))],
                            choices=[("no_deviation", _l("Inga avvikelser")),
                                     ("deviation_followed_up", _l("Avvikelse som följs upp")),
                                     ("deviation_reported", _l("Avvikelse anmäld som personuppgiftsincident"))])
    comment = TextAreaField(_l("Kommentar"), validators=[Optional(), Length(max=2000)])


class DrawSampleForm(AppForm):
    period = StringField(_l("Månad (ÅÅÅÅ-MM)"), validators=[DataRequired(_l("Ange månad.")), Length(min=7, max=7)])


class EmergencyAccessForm(AppForm):
    """Nödåtkomst: which case (reference or personnummer) and why. The operation validates the content."""

    target = StringField(_l("Ärendenummer eller personnummer"), validators=[Optional(), Length(max=40)])
    reason = TextAreaField(_l("Skäl till nödåtkomsten"), validators=[Optional(), Length(max=1000)])
