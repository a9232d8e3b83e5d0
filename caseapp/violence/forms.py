"""Forms of the domestic-violence work.

The instruments' items come from the catalogue (`violence.catalogue`), so the legal/methods function changes an
item list without touching forms or templates; the templates render one input per catalogue item and the
operations validate the raw values against the same catalogue (one place for the rules, also used by tests and
the demo). This form carries the CSRF token (checked here as well as by the app-wide CSRF protection) and hands
the submitted values to the operations as a plain dict.
"""

from __future__ import annotations

from caseapp.forms import AppForm


class ViolenceForm(AppForm):
    """The CSRF token of an assessment or plan form; the fields are rendered from the catalogue."""
