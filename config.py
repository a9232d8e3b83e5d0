"""Configuration classes, read from the environment.

`CASEAPP_ENV` chooses the class: development (default), testing or production. The production class
refuses to start unless every security setting is real (see `ProductionConfig.validate`).
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CASEAPP_INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """The configuration is not safe to run with; the message says what to fix."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # hide_parameters: SQL errors never carry bound values (personal data) into logs or error pages. Pooled
    # connections are checked before use when idle for more than DB_PING_AFTER_IDLE_SECONDS (0: every checkout,
    # as pool_pre_ping; see caseapp.extensions.configure_pool_check).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    DB_PING_AFTER_IDLE_SECONDS = 1.0
    # PostgreSQL: plan each prepared statement once per connection (caseapp.extensions.configure_postgresql);
    # "auto" leaves the server's own setting.
    DB_PLAN_CACHE_MODE = "force_generic_plan"
    KEY_DIR = str(INSTANCE_DIR / "keys")
    KEY_STRICT_PERMISSIONS = True

    # Sessions: signed cookie, tied to the user's session version.
    SESSION_COOKIE_NAME = "caseapp_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
    SESSION_REFRESH_EACH_REQUEST = False  # re-sign the cookie only when the session changes (caseapp.LAST_SEEN_STEP)
    IDLE_TIMEOUT = timedelta(minutes=30)
    ABSOLUTE_TIMEOUT = timedelta(hours=10)
    MFA_REQUIRED = True

    # Login hardening.
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_DURATION = timedelta(minutes=15)
    LOGIN_RATE_LIMIT = "20 per minute; 200 per day"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    # Argon2id parameters (OWASP minimum: 19 MiB, 2 iterations, 1 lane).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead; sessions expire on their own
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    LANGUAGES = ("sv", "en")
    HSTS = False
    TRUSTED_PROXY_COUNT = 0

    # Audit log tamper evidence (docs/audit.md): a signed checkpoint every N events or T minutes, each also
    # appended to an external sink: "file" (JSON lines), "syslog" (SysLogHandler) or "none".
    AUDIT_CHECKPOINT_EVERY = 1000
    AUDIT_CHECKPOINT_MINUTES = 15
    AUDIT_SINK = "file"
    # None: "audit-checkpoints.jsonl" beside KEY_DIR (instance/ in development), so each installation, and each
    # test run with its own keys, has its own sink. Set it explicitly in production.
    AUDIT_SINK_PATH: str | None = None
    AUDIT_SYSLOG_ADDRESS = "/dev/log"  # or "host:port" (UDP)
    AUDIT_SYSLOG_FACILITY = "auth"
    AUDIT_PUBLIC_KEYS: tuple[str, ...] = ()  # PEM files of retired audit public keys, for `caseapp audit verify`
    # PostgreSQL: a transaction that wrote nothing but audit events of reads (view/list/search) commits without
    # waiting for the WAL flush ("async"), or like every other transaction ("sync"). docs/audit.md, "Commit".
    AUDIT_READ_COMMIT = "async"
    # Emergency access (nödåtkomst, docs/audit.md): how long a grant lasts (READ only).
    EMERGENCY_ACCESS_MINUTES = 60

    @classmethod
    def apply_env(cls, config: dict) -> None:
        """Reads the environment when the app is created (not at import, so tests can set it)."""
        env = os.environ
        if env.get("DATABASE_URL"):
            config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
        if env.get("SECRET_KEY"):
            config["SECRET_KEY"] = env["SECRET_KEY"]
        if env.get("CASEAPP_KEY_DIR"):
            config["KEY_DIR"] = env["CASEAPP_KEY_DIR"]
        if env.get("RATELIMIT_STORAGE_URI"):
            config["RATELIMIT_STORAGE_URI"] = env["RATELIMIT_STORAGE_URI"]
        config["SESSION_COOKIE_SECURE"] = _env_bool("SESSION_COOKIE_SECURE", config["SESSION_COOKIE_SECURE"])
        config["MFA_REQUIRED"] = _env_bool("MFA_REQUIRED", config["MFA_REQUIRED"])
        config["TRUSTED_PROXY_COUNT"] = int(env.get("TRUSTED_PROXY_COUNT", config["TRUSTED_PROXY_COUNT"]))
        for name in ("AUDIT_SINK", "AUDIT_SINK_PATH", "AUDIT_SYSLOG_ADDRESS", "AUDIT_SYSLOG_FACILITY",
                     "AUDIT_READ_COMMIT"):
            if env.get(name):
                config[name] = env[name]
        for name in ("AUDIT_CHECKPOINT_EVERY", "AUDIT_CHECKPOINT_MINUTES"):
            if env.get(name):
                config[name] = int(env[name])
        if env.get("DB_PLAN_CACHE_MODE"):
            config["DB_PLAN_CACHE_MODE"] = env["DB_PLAN_CACHE_MODE"]
        if env.get("DB_PING_AFTER_IDLE_SECONDS"):
            config["DB_PING_AFTER_IDLE_SECONDS"] = float(env["DB_PING_AFTER_IDLE_SECONDS"])
        if env.get("AUDIT_PUBLIC_KEYS"):
            config["AUDIT_PUBLIC_KEYS"] = tuple(p for p in env["AUDIT_PUBLIC_KEYS"].split(os.pathsep) if p)

    @classmethod
    def validate(cls, config: dict) -> None:
        """Checks run by create_app; the base class accepts anything."""


class DevelopmentConfig(BaseConfig):
    """Needs nothing: SQLite and key files under instance/ (created by `caseapp init`)."""

    ENV_NAME = "development"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'caseapp.db'}"
    # A development secret is generated into instance/ on first use; there is no fixed fallback.
    SECRET_KEY = None


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SECRET_KEY = os.urandom(32).hex()
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    WTF_CSRF_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None
    KEY_DIR = ""
    SESSION_COOKIE_SECURE = True
    MFA_REQUIRED = True
    HSTS = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls, config: dict) -> None:
        problems: list[str] = []
        secret = config.get("SECRET_KEY") or ""
        if len(secret) < 32 or secret.lower() in {"dev", "secret", "changeme", "change-me"} or len(set(secret)) < 10:
            problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
        url = config.get("SQLALCHEMY_DATABASE_URI") or ""
        if not url:
            problems.append("DATABASE_URL must be set")
        elif url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL in production, not SQLite")
        if not config.get("SESSION_COOKIE_SECURE"):
            problems.append("SESSION_COOKIE_SECURE must be on (HTTPS-only cookies)")
        if not config.get("MFA_REQUIRED"):
            problems.append("MFA_REQUIRED must be on: the second factor is enforced in production")
        if config.get("DEBUG"):
            problems.append("DEBUG must be off")
        key_dir = config.get("KEY_DIR") or ""
        if not key_dir:
            problems.append("CASEAPP_KEY_DIR must name the directory with the key files")
        else:
            problems.extend(_key_dir_problems(Path(key_dir)))
        if problems:
            raise ConfigError("Refusing to start in production:\n  - " + "\n  - ".join(problems))


def _key_dir_problems(key_dir: Path) -> list[str]:
    if not key_dir.is_dir():
        return [f"key directory {key_dir} does not exist (run `caseapp init` as the service user)"]
    problems = []
    for path in [key_dir, *sorted(key_dir.iterdir())]:
        st = path.stat()
        if st.st_uid != os.getuid():
            problems.append(f"{path} is not owned by the service user")
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"{path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); chmod it to 0600/0700")
    return problems


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[BaseConfig]:
    name = os.environ.get("CASEAPP_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"CASEAPP_ENV={name!r} is not one of {', '.join(CONFIGS)}") from None
