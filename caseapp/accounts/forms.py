from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from caseapp.forms import AppForm
from caseapp.i18n import lazy_gettext as _l


class LoginForm(AppForm):
    username = StringField(_l("Användarnamn"), validators=[DataRequired(_l("Ange användarnamn.")), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Lösenord"), validators=[DataRequired(_l("Ange lösenord.")), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class CodeForm(AppForm):
    code = StringField(_l("Engångskod"), validators=[DataRequired(_l("Ange koden.")), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True})


class RecoveryForm(AppForm):
    code = StringField(_l("Reservkod"), validators=[DataRequired(_l("Ange reservkoden.")), Length(max=40)],
                       render_kw={"autocomplete": "off", "autofocus": True})


class PasswordChangeForm(AppForm):
    current = PasswordField(_l("Nuvarande lösenord"), validators=[DataRequired(_l("Ange ditt nuvarande lösenord."))],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("Nytt lösenord"), validators=[DataRequired(_l("Ange ett nytt lösenord.")), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Upprepa nytt lösenord"),
                            validators=[EqualTo("new", _l("Lösenorden är inte lika."))],
                            render_kw={"autocomplete": "new-password"})
