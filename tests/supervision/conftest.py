"""Supervision fixtures: the casework fixtures (people, cases, the two-unit team) for emergency access tests."""

from tests.cases.conftest import case_factory, catalogue, person_factory, team  # noqa: F401
