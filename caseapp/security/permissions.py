"""Permission declarations on views, and the start-up check that every endpoint has one.

Every view function carries either `@requires("some.permission")` or `@public`. `create_app` calls
`check_declarations(app)`: an endpoint without a declaration stops the app from starting, so a forgotten
check is a start-up error, not a data leak. Whether a user holds a permission is decided in `policy.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask

PERMISSION_ATTR = "_caseapp_permission"
PUBLIC = "__public__"
# Flask's own static file endpoint serves only the package's static assets.
BUILTIN_PUBLIC_ENDPOINTS = frozenset({"static"})

F = TypeVar("F", bound=Callable)


class MissingPermissionDeclaration(RuntimeError):
    pass


def requires(permission: str) -> Callable[[F], F]:
    """Declare the permission a view needs. Put it *below* the route decorator."""
    if not permission or permission == PUBLIC:
        raise ValueError("a permission name is required")

    def decorate(view: F) -> F:
        setattr(view, PERMISSION_ATTR, permission)
        return view

    return decorate


def public(view: F) -> F:
    """Mark a view as reachable without login (login, health, language switch). Keep this list short."""
    setattr(view, PERMISSION_ATTR, PUBLIC)
    return view


def declared_permission(view: Callable) -> str | None:
    return getattr(view, PERMISSION_ATTR, None)


def check_declarations(app: Flask) -> None:
    missing = sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in BUILTIN_PUBLIC_ENDPOINTS and declared_permission(view) is None
    )
    if missing:
        raise MissingPermissionDeclaration(
            "Endpoints without a permission declaration (@requires or @public): " + ", ".join(missing)
        )


def public_endpoints(app: Flask) -> set[str]:
    return {
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint in BUILTIN_PUBLIC_ENDPOINTS or declared_permission(view) == PUBLIC
    }
