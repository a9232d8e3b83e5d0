"""The production config refuses every insecure setting, with a clear message and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config as config_module
from caseapp import create_app
from caseapp.security.keys import ensure_key_files

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "8c1f0e5d9a7b4c3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c"


@pytest.fixture()
def prod_keys(tmp_path) -> Path:
    key_dir = tmp_path / "keys"
    ensure_key_files(key_dir)
    return key_dir


@pytest.fixture()
def prod_env(monkeypatch, prod_keys):
    monkeypatch.setenv("CASEAPP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("CASEAPP_KEY_DIR", str(prod_keys))
    for name in ("SESSION_COOKIE_SECURE", "MFA_REQUIRED"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_good_production_config_starts(prod_env):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["MFA_REQUIRED"] is True
    assert app.config["HSTS"] is True
    with app.test_client() as c:
        assert "max-age" in c.get("/health").headers["Strict-Transport-Security"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m, k: m.delenv("SECRET_KEY"), "SECRET_KEY"),
        (lambda m, k: m.setenv("SECRET_KEY", "dev"), "SECRET_KEY"),
        (lambda m, k: m.setenv("SECRET_KEY", "a" * 40), "SECRET_KEY"),
        (lambda m, k: m.delenv("DATABASE_URL"), "DATABASE_URL"),
        (lambda m, k: m.setenv("DATABASE_URL", "sqlite:////tmp/x.db"), "PostgreSQL"),
        (lambda m, k: m.setenv("SESSION_COOKIE_SECURE", "0"), "SESSION_COOKIE_SECURE"),
        (lambda m, k: m.setenv("MFA_REQUIRED", "false"), "MFA_REQUIRED"),
        (lambda m, k: m.delenv("CASEAPP_KEY_DIR"), "CASEAPP_KEY_DIR"),
        (lambda m, k: m.setenv("CASEAPP_KEY_DIR", str(k / "missing")), "does not exist"),
        (lambda m, k: os.chmod(k / "kek-v1.key", 0o644), "readable by others"),
        (lambda m, k: os.chmod(k, 0o755), "readable by others"),
    ],
)
def test_production_refuses_insecure_settings(prod_env, prod_keys, change, message):
    change(prod_env, prod_keys)
    with pytest.raises(config_module.ConfigError, match=message):
        create_app()


def test_production_start_fails_with_clear_message_and_exit_code(tmp_path, prod_keys):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "TEST_DATABASE_URL")}
    env.update({"CASEAPP_ENV": "production", "DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/none",
                "CASEAPP_KEY_DIR": str(prod_keys)})
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "Refusing to start in production" in proc.stderr and "SECRET_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_demo_refused_in_production(prod_env):
    from caseapp.cli import cli

    app = create_app()
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code != 0
    assert "refused in production" in result.output


def test_development_config_needs_nothing_and_has_no_fixed_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    class Dev(config_module.DevelopmentConfig):
        KEY_DIR = str(tmp_path / "keys")

    monkeypatch.setattr(config_module, "DevelopmentConfig", Dev)
    app1 = create_app(Dev, keys_required=False)
    assert app1.config["SECRET_KEY"] and len(app1.config["SECRET_KEY"]) >= 32
    assert app1.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/caseapp.db")


def test_missing_key_files_stop_start_up(tmp_path):
    class Cfg(config_module.TestingConfig):
        KEY_DIR = str(tmp_path / "nokeys")

    from caseapp.security.keys import KeyConfigError

    with pytest.raises(KeyConfigError, match="caseapp init"):
        create_app(Cfg)
