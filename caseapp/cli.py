"""The `caseapp` command: Flask's FlaskGroup on the app factory, with the project's commands."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, run_command, shell_command, with_appcontext

import config as config_module
from caseapp import create_app
from caseapp.extensions import db
from caseapp.security.keys import KeyConfigError, ensure_key_files
from caseapp.security.services import load_keys


def _cli_app():
    # Commands such as `init` must run before the key files exist; `run` checks them itself.
    return create_app(keys_required=False)


cli = FlaskGroup(create_app=_cli_app, add_default_commands=False, help="caseapp: ärendesystem för socialtjänsten.")


def _require_keys() -> None:
    load_keys(current_app._get_current_object(), keys_required=False)
    try:
        current_app.extensions["caseapp.keys"].kek_versions()
    except KeyConfigError as exc:
        raise click.ClickException(f"Keys are not usable: {exc}") from exc


def _refuse_in_production(what: str) -> None:
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException(f"`{what}` is refused in production.")


@click.command("run", params=list(run_command.params), help="Serve the app (development server); checks the key files first.")
@click.pass_context
def run(ctx: click.Context, **kwargs) -> None:
    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        _require_keys()
    ctx.invoke(run_command, **kwargs)


cli.add_command(run)
cli.add_command(shell_command)
cli.add_command(routes_command)


@cli.command("init")
@with_appcontext
def init() -> None:
    """Create the key files if absent and migrate the database to the head revision. Safe to run twice."""
    import flask_migrate

    app = current_app._get_current_object()
    key_dir = app.config["KEY_DIR"]
    created = ensure_key_files(key_dir)
    click.echo(f"Key directory {key_dir}: " + (f"created {', '.join(created)}" if created else "all keys present"))
    load_keys(app, keys_required=True)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        from pathlib import Path

        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    flask_migrate.upgrade()
    click.echo("Database is at the head revision.")


@cli.command("demo")
@with_appcontext
def demo() -> None:
    """Load demo units, users and data (never in production). Prints the demo logins."""
    from caseapp import demo as demo_module

    _refuse_in_production("caseapp demo")
    _require_keys()
    logins = demo_module.load_demo()
    db.session.commit()
    click.echo("\nDemo logins (password, then the one-time code from an authenticator app with the TOTP secret;")
    click.echo("or print the current code with `caseapp demo-code USERNAME`):\n")
    w = max(len(row.unit) for row in logins)
    click.echo(f"  {'username':<14} {'role':<19} {'unit':<{w}} {'password':<20} TOTP secret")
    for row in logins:
        click.echo(f"  {row.username:<14} {row.role:<19} {row.unit:<{w}} {row.password:<20} {row.totp_secret}")


@cli.command("demo-code")
@click.argument("username")
@with_appcontext
def demo_code(username: str) -> None:
    """Print the current one-time code of a demo user (development only)."""
    from caseapp.accounts import operations as ops
    from caseapp.security import auth as authlib

    _refuse_in_production("caseapp demo-code")
    user = ops.find_user(username)
    if user is None or user.totp_secret_enc is None:
        raise click.ClickException("no such user with a second factor")
    click.echo(authlib.totp_code(ops.totp_secret(user)))


# --- users ----------------------------------------------------------------------------------------


@cli.group("users")
def users() -> None:
    """Manage staff accounts."""


@users.command("list")
@with_appcontext
def users_list() -> None:
    from caseapp.accounts import operations as ops

    for u in ops.list_users():
        status = "disabled" if u.disabled_at else "active"
        mfa = "mfa" if u.mfa_enrolled else "no-mfa"
        unit = u.unit.code if u.unit else "-"
        click.echo(f"{u.username:<20} {u.role.value:<20} {unit:<24} {status:<9} {mfa}")


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in __import__("caseapp.accounts.models", fromlist=["Role"]).Role]),
              required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code (see `caseapp units list`).")
@with_appcontext
def users_create(username: str, display_name: str, role: str, unit_code: str | None) -> None:
    """Create a user with a temporary password (printed once; changed at first login)."""
    from caseapp.accounts import operations as ops
    from caseapp.accounts.models import Role, Unit

    unit = None
    if unit_code:
        unit = db.session.scalar(db.select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.ClickException(f"no unit with code {unit_code!r}")
    try:
        user, password = ops.create_user(None, username=username, display_name=display_name,
                                         role=Role(role), unit=unit)
    except ops.AccountError as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo(f"Created {user.username}. Temporary password (shown once): {password}")


def _user_or_fail(username: str):
    from caseapp.accounts import operations as ops

    user = ops.find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@users.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username: str) -> None:
    """Disable a user; all their sessions end at once."""
    from caseapp.accounts import operations as ops

    ops.disable_user(None, _user_or_fail(username))
    db.session.commit()
    click.echo(f"Disabled {username}.")


@users.command("enable")
@click.argument("username")
@with_appcontext
def users_enable(username: str) -> None:
    from caseapp.accounts import operations as ops

    ops.enable_user(None, _user_or_fail(username))
    db.session.commit()
    click.echo(f"Enabled {username}.")


@users.command("reset-mfa")
@click.argument("username")
@with_appcontext
def users_reset_mfa(username: str) -> None:
    """Remove a user's second factor; they enrol again at the next login."""
    from caseapp.accounts import operations as ops

    ops.reset_mfa(None, _user_or_fail(username))
    db.session.commit()
    click.echo(f"Second factor of {username} reset; sessions ended.")


# --- units ----------------------------------------------------------------------------------------


@cli.group("units")
def units() -> None:
    """Manage units (enheter)."""


@units.command("list")
@with_appcontext
def units_list() -> None:
    from caseapp.accounts.models import Unit

    for u in db.session.scalars(db.select(Unit).order_by(Unit.code)):
        click.echo(f"{u.code:<24} {'shares' if u.shares_cases else 'private':<8} {u.name}")


@units.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--shares-cases/--no-shares-cases", default=False)
@with_appcontext
def units_create(code: str, name: str, shares_cases: bool) -> None:
    from caseapp.accounts.models import Unit

    if db.session.scalar(db.select(Unit).where(Unit.code == code)) is not None:
        raise click.ClickException(f"unit {code!r} exists")
    db.session.add(Unit(code=code, name=name, shares_cases=shares_cases))
    db.session.commit()
    click.echo(f"Created unit {code}.")


# --- command groups of the domains: one line each ------------------------------------------------
from caseapp.security.audit_cli import audit as _audit_cmd  # noqa: E402, I001
cli.add_command(_audit_cmd)
from caseapp.security.keys_cli import keys as _keys_cmd  # noqa: E402, I001
cli.add_command(_keys_cmd)
from caseapp.supervision.cli import supervision as _supervision_cmd  # noqa: E402, I001
cli.add_command(_supervision_cmd)


def main() -> None:
    try:
        cli.main(prog_name="caseapp")
    except config_module.ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except KeyConfigError as exc:
        click.echo(f"Key error: {exc}", err=True)
        sys.exit(2)
