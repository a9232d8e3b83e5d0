"""What the views of every domain share: how a posted form is handled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect

from caseapp.cases.operations import CaseworkError


def submit_form(form, operate: Callable[[], Any], page: Callable[[list[str]], Any],
                done: Callable[[Any], tuple[str, str]]):
    """A posted form, as every form of casework, referrals, protection and violence work is handled. A form that
    does not validate, or an operation that refuses the input (a `CaseworkError`, whose messages are set on the
    form's fields; the rest is returned), gives `page(errors)`: the page again, with 422 (the request then rolls
    back, so nothing is half-written). Otherwise `done(result)` gives the message to flash and the address to
    go to."""
    if not form.validate_on_submit():
        return page([])
    try:
        result = operate()
    except CaseworkError as err:
        return page(form.add_errors(err.errors))
    message, address = done(result)
    flash(message, "info")
    return redirect(address)
