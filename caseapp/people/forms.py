"""Forms of the people registry. Validation of the data itself lives in `operations.clean` (one place, also
used by the CLI and tests); the forms carry the fields, the CSRF token and the duplicate confirmation."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from caseapp.forms import AppForm
from caseapp.i18n import lazy_gettext as _l
from caseapp.people.models import PROTECTION_LABELS
from caseapp.people.operations import PersonData


def protection_choices():
    return [(level.value, label) for level, label in PROTECTION_LABELS.items()]


class PersonForm(AppForm):
    given_name = StringField(_l("Förnamn"), render_kw={"autocomplete": "off", "maxlength": 100})
    family_name = StringField(_l("Efternamn"), render_kw={"autocomplete": "off", "maxlength": 100})
    identity = StringField(_l("Personnummer, samordningsnummer eller reservnummer"),
                           render_kw={"autocomplete": "off", "maxlength": 40})
    reservnummer = BooleanField(_l("Numret är ett reservnummer (personen saknar personnummer och samordningsnummer)"))
    protection = SelectField(_l("Skyddade personuppgifter"), choices=protection_choices, validate_choice=False)
    address = TextAreaField(_l("Adress"), render_kw={"rows": 3, "maxlength": 300})
    phone = StringField(_l("Telefon"), render_kw={"autocomplete": "off", "maxlength": 40, "inputmode": "tel"})
    email = StringField(_l("E-post"), render_kw={"autocomplete": "off", "maxlength": 254})
    notes = TextAreaField(_l("Anteckningar"), render_kw={"rows": 6})
    confirm_duplicate = BooleanField(_l("Jag har kontrollerat uppgifterna och vill spara ändå"))

    def to_data(self) -> PersonData:
        return PersonData(
            given_name=self.given_name.data, family_name=self.family_name.data, identity=self.identity.data,
            reservnummer=bool(self.reservnummer.data), protection=self.protection.data or "",
            address=self.address.data, phone=self.phone.data, email=self.email.data, notes=self.notes.data,
        )

    def fill(self, data: PersonData) -> None:
        for name in ("given_name", "family_name", "address", "phone", "email", "notes"):
            getattr(self, name).data = getattr(data, name) or ""
        self.reservnummer.data = data.reservnummer
        self.protection.data = str(data.protection)

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, message]


class SearchForm(AppForm):
    identity = StringField(_l("Personnummer eller samordningsnummer"),
                           render_kw={"autocomplete": "off", "maxlength": 40})
    name = StringField(_l("Namn"), render_kw={"autocomplete": "off", "maxlength": 200})
    reservnummer = StringField(_l("Reservnummer"), render_kw={"autocomplete": "off", "maxlength": 40})

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
