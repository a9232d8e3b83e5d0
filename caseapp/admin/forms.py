from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from caseapp.accounts.models import ROLE_LABELS
from caseapp.forms import AppForm
from caseapp.i18n import lazy_gettext as _l


def role_choices():
    return [(role.value, label) for role, label in ROLE_LABELS.items()]


class UserForm(AppForm):
    username = StringField(
        _l("Användarnamn"),
        validators=[DataRequired(_l("Ange användarnamn.")), Length(max=64),
                    Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Bara bokstäver a–z, siffror, punkt, bindestreck och understreck."))],
    )
    display_name = StringField(_l("Namn"), validators=[DataRequired(_l("Ange namn.")), Length(max=120)])
    role = SelectField(_l("Roll"), validate_choice=True)
    unit = SelectField(_l("Enhet"), validate_choice=True)


class UserEditForm(AppForm):
    role = SelectField(_l("Roll"), validate_choice=True)
    unit = SelectField(_l("Enhet"), validate_choice=True)


class ConfirmForm(AppForm):
    """An empty form: only the CSRF token, for POST buttons."""
