"""Per-app security services (key provider, password hasher, TOTP secret box), kept in `app.extensions`.

Nothing here is a module-level singleton: each app (and each test app) has its own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from caseapp.security.auth import Passwords, SecretBox
from caseapp.security.keys import FileKeyProvider, KeyConfigError, KeyProvider


class MissingKeys:
    """Stands in for the key provider when the CLI runs before `caseapp init` made the key files.
    Any use raises the original, clear error."""

    def __init__(self, error: KeyConfigError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        raise self.error


def init_security_services(app: Flask, *, keys_required: bool) -> None:
    cfg = app.config
    app.extensions["caseapp.passwords"] = Passwords(
        cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"]
    )
    load_keys(app, keys_required=keys_required)


def load_keys(app: Flask, *, keys_required: bool) -> None:
    provider: KeyProvider | MissingKeys
    try:
        provider = FileKeyProvider(app.config["KEY_DIR"], strict_permissions=app.config["KEY_STRICT_PERMISSIONS"])
    except KeyConfigError as exc:
        if keys_required:
            raise
        provider = MissingKeys(exc)
    app.extensions["caseapp.keys"] = provider
    app.extensions.pop("caseapp.secret_box", None)
    app.extensions.pop("caseapp.blind_indexer", None)
    app.extensions.pop("caseapp.system_keys", None)


def key_provider() -> KeyProvider:
    return current_app.extensions["caseapp.keys"]


def secret_box() -> SecretBox:
    box = current_app.extensions.get("caseapp.secret_box")
    if box is None:
        box = current_app.extensions["caseapp.secret_box"] = SecretBox(key_provider().index_key())
    return box


def passwords() -> Passwords:
    return current_app.extensions["caseapp.passwords"]


def system_key(purpose: str):
    """The data key for system texts of one purpose (see crypto.system_data_key), cached per app."""
    from caseapp.security.crypto import system_data_key

    cache = current_app.extensions.setdefault("caseapp.system_keys", {})
    key = cache.get(purpose)
    if key is None:
        key = cache[purpose] = system_data_key(key_provider().index_key(), purpose)
    return key
