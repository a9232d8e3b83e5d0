"""People registry views: thin. Records are loaded through `policy`, work is done in `operations`."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseapp.people import operations as ops
from caseapp.people.forms import PersonForm, SearchForm
from caseapp.people.models import Protection
from caseapp.security import policy
from caseapp.security.crypto import DecryptionError, ShreddedError
from caseapp.security.permissions import requires

bp = Blueprint("people", __name__, url_prefix="/personer")


def _user():
    return current_user._get_current_object()


@bp.app_errorhandler(ShreddedError)
def _shredded(err: ShreddedError):
    """Any page that meets a crypto-shredded person shows the "gallrade" state, never an error or garbage.
    Status 410 so that the request's transaction (and anything it was about to write) rolls back."""
    return render_template("people/shredded.html", person=None), 410


@bp.app_errorhandler(DecryptionError)
def _undecryptable(err: DecryptionError):
    """A tampered or misplaced ciphertext: the error names table, column and row in the log (no plaintext);
    the page says the data could not be read, never shows it as empty."""
    current_app.logger.error("request %s: %s", g.get("request_id"), err)
    return render_template("errors/error.html", code=500, title=_("Uppgifterna kunde inte läsas"),
                           text=_("Uppgifterna är skadade eller har flyttats och visas därför inte. "
                                  "Felet är loggat; kontakta systemförvaltningen och ange referensen."),
                           request_id=g.get("request_id")), 500


@bp.get("/")
@requires("person.read")
def index():
    page = request.args.get("sida", default=1, type=int) or 1
    result = ops.list_people(_user(), page)
    return render_template("people/list.html", result=result)


def _duplicate_status(form: PersonForm, err: ops.DuplicateIdentity) -> dict:
    form.confirm_duplicate.data = False
    return {"duplicates": err.duplicates}


@bp.route("/ny", methods=["GET", "POST"])
@requires("person.create")
def new():
    unit_id = policy.person_registration_unit(_user())
    form = PersonForm()
    if request.method == "GET":
        form.protection.data = Protection.NONE.value
        return render_template("people/form.html", form=form, person=None)
    if not form.validate_on_submit():
        return render_template("people/form.html", form=form, person=None), 422
    try:
        person = ops.register_person(_user(), form.to_data(), unit_id=unit_id,
                                     confirm_duplicate=bool(form.confirm_duplicate.data))
    except ops.PersonError as err:
        form.add_errors(err.errors)
        return render_template("people/form.html", form=form, person=None), 422
    except ops.DuplicateIdentity as err:
        # Not an error: nothing is saved yet; the user decides. The check itself is logged as a search.
        return render_template("people/form.html", form=form, person=None, **_duplicate_status(form, err))
    flash(_("Personen är registrerad."), "info")
    return redirect(url_for("people.view", person_id=person.id))


@bp.get("/<uuid:person_id>")
@requires("person.read")
def view(person_id: uuid.UUID):
    person = policy.get_person(_user(), person_id, "read")
    ops.view_person(_user(), person)
    if person.is_shredded:
        return render_template("people/shredded.html", person=person)
    return render_template("people/view.html", person=person,
                           can_edit=policy.can_update_person(_user(), person))


@bp.route("/<uuid:person_id>/andra", methods=["GET", "POST"])
@requires("person.update")
def edit(person_id: uuid.UUID):
    person = policy.get_person(_user(), person_id, "update")
    if person.is_shredded:
        ops.view_person(_user(), person, page="edit")
        return render_template("people/shredded.html", person=person)
    form = PersonForm()
    if request.method == "GET":
        ops.view_person(_user(), person, page="edit")
        form.fill(ops.PersonData.of(person))
        form.identity.data = person.identity_display
        return render_template("people/form.html", form=form, person=person)
    if not form.validate_on_submit():
        return render_template("people/form.html", form=form, person=person), 422
    try:
        changed = ops.update_person(_user(), person, form.to_data(),
                                    confirm_duplicate=bool(form.confirm_duplicate.data))
    except ops.PersonError as err:
        form.add_errors(err.errors)
        return render_template("people/form.html", form=form, person=person), 422
    except ops.DuplicateIdentity as err:
        return render_template("people/form.html", form=form, person=person, **_duplicate_status(form, err))
    flash(_("Ändringarna är sparade. De tidigare uppgifterna finns kvar i historiken.") if changed
          else _("Inget var ändrat."), "info")
    return redirect(url_for("people.view", person_id=person.id))


@bp.get("/<uuid:person_id>/historik")
@requires("person.read")
def history(person_id: uuid.UUID):
    person = policy.get_person(_user(), person_id, "read")
    if person.is_shredded:
        ops.view_person(_user(), person, page="history")
        return render_template("people/shredded.html", person=person)
    versions = ops.history(_user(), person)
    return render_template("people/history.html", person=person, versions=versions,
                           users=ops.user_names([person.created_by, person.updated_by,
                                                 *(v.recorded_by for v in versions),
                                                 *(v.replaced_by for v in versions)]))


@bp.route("/sok", methods=["GET", "POST"])
@requires("person.search")
def search():
    # POST, so that search terms never end up in URLs, server logs, browser history or referrers.
    form = SearchForm()
    if request.method == "GET":
        return render_template("people/search.html", form=form, hits=None)
    if not form.validate_on_submit():
        return render_template("people/search.html", form=form, hits=None), 422
    filled = [name for name in ("identity", "name", "reservnummer") if (getattr(form, name).data or "").strip()]
    if len(filled) != 1:
        flash(_("Fyll i ett av fälten: personnummer, namn eller reservnummer."), "error")
        return render_template("people/search.html", form=form, hits=None), 422
    by = filled[0]
    text = getattr(form, by).data
    search_fn = {"identity": ops.search_by_identity, "name": ops.search_by_name,
                 "reservnummer": ops.search_by_reservnummer}[by]
    try:
        hits = search_fn(_user(), text)
    except ops.PersonError as err:
        form.add_errors(err.errors)
        return render_template("people/search.html", form=form, hits=None), 422
    return render_template("people/search.html", form=form, hits=hits, by=by)
