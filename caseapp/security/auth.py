"""Authentication primitives: Argon2id passwords, password policy, TOTP, recovery codes.

No Flask request access here; the account operations call these.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from functools import lru_cache
from importlib import resources

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from caseapp.i18n import lazy_gettext as _l

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
TOTP_INTERVAL = 30
TOTP_DIGITS = 6
TOTP_ISSUER = "caseapp Hässelby-Vällingby"
RECOVERY_CODE_COUNT = 10


class Passwords:
    """Argon2id hashing with parameters from the config; rehash when parameters change."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        # Verified against for unknown users, so they take as long as known ones.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("caseapp").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def _strip_decorations(password: str) -> str:
    """'Sommar2024!' -> 'sommar': the word people build weak passwords around."""
    return re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", password.casefold()))


def password_problems(password: str, *, username: str = "", display_name: str = "") -> list[str]:
    """Swedish (translatable) messages for what is wrong with a new password; empty when acceptable."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(_l("Lösenordet måste ha minst %(n)s tecken.", n=PASSWORD_MIN_LENGTH))
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(_l("Lösenordet får ha högst %(n)s tecken.", n=PASSWORD_MAX_LENGTH))
    folded = password.casefold()
    common = common_passwords()
    if folded in common or _strip_decorations(password) in common or len(set(folded)) < 4:
        problems.append(_l("Lösenordet är för vanligt eller för enkelt att gissa. Välj ett annat."))
    for part in [username, *display_name.split()]:
        if len(part) >= 3 and part.casefold() in folded:
            problems.append(_l("Lösenordet får inte innehålla ditt namn eller användarnamn."))
            break
    return problems


# --- TOTP ---------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32(length=32)


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL, digits=TOTP_DIGITS).provisioning_uri(
        name=username, issuer_name=TOTP_ISSUER
    )


def totp_code(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL, digits=TOTP_DIGITS).at(int(at or time.time()))


def match_totp(secret: str, code: str, last_counter: int | None, now: float | None = None) -> int | None:
    """Return the time step the code belongs to, or None. A step at or before `last_counter` is refused
    (a code is accepted once only). One step of clock drift either way is allowed."""
    code = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(rf"\d{{{TOTP_DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL, digits=TOTP_DIGITS)
    current = int(now if now is not None else time.time()) // TOTP_INTERVAL
    for counter in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            if last_counter is not None and counter <= last_counter:
                return None
            return counter
    return None


class SecretBox:
    """Encrypts TOTP secrets at rest with a key derived from the index key file (never from the database),
    bound to the user id so a secret copied to another account does not decrypt."""

    def __init__(self, root_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"caseapp/totp-secret/v1").derive(root_key)
        self._aead = AESGCM(key)

    def seal(self, user_id: uuid.UUID, secret: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return b"\x01" + nonce + self._aead.encrypt(nonce, secret.encode(), b"totp:" + user_id.bytes)

    def open(self, user_id: uuid.UUID, blob: bytes) -> str:
        if not blob or blob[0] != 1:
            raise ValueError("unknown TOTP secret format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], b"totp:" + user_id.bytes).decode()
        except InvalidTag:
            raise ValueError(f"TOTP secret of user {user_id} does not decrypt (wrong key or tampered)") from None


# --- Recovery codes -------------------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(8)).decode()[:12]
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return re.sub(r"[^A-Z2-7]", "", (code or "").upper())


def hash_recovery_code(code: str) -> bytes:
    return hashlib.sha256(b"caseapp-recovery:" + normalise_recovery_code(code).encode()).digest()
