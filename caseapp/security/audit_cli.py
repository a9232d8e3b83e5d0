"""`caseapp audit ...`: verify the tamper-evident audit log, write a checkpoint, show the public key.

Exit codes of `verify`: 0 intact, 1 tampering found (the first broken event is printed), 2 could not verify.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from caseapp.extensions import db
from caseapp.security import audit as audit_module
from caseapp.security import audit_chain
from caseapp.security.keys import KeyConfigError


class CannotVerify(click.ClickException):
    exit_code = 2


@click.group("audit")
def audit() -> None:
    """Tamper-evident audit log: verify the chain, write checkpoints."""


def _public_keys(extra_files: tuple[str, ...]):
    try:
        current = current_app.extensions["caseapp.keys"].audit_public_key()
    except KeyConfigError as exc:
        if not extra_files:
            raise CannotVerify(f"no audit public key: {exc}. Pass it with --public-key FILE.") from exc
        current = None
    extra = []
    for path in (*current_app.config.get("AUDIT_PUBLIC_KEYS", ()), *extra_files):
        try:
            extra.append(audit_chain.load_public_key(path))
        except (OSError, ValueError) as exc:
            raise CannotVerify(f"cannot load public key {path}: {exc}") from exc
    return current, extra


@audit.command("verify")
@click.option("--sink", "sink_path", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint sink file (JSON lines) to compare with; default: the configured file when AUDIT_SINK=file. "
                   "For a syslog sink, export its checkpoint lines to a file and pass it here.")
@click.option("--no-sink", is_flag=True, help="Do not compare with an external sink.")
@click.option("--public-key", "public_key_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM file of an older (rotated) audit public key; repeatable.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only when stderr is a terminal).")
@with_appcontext
def verify(sink_path: str | None, no_sink: bool, public_key_files: tuple[str, ...], progress: bool | None) -> None:
    """Recompute the hash chain, check every checkpoint signature and compare with the external sink."""
    config = current_app.config
    current, extra = _public_keys(public_key_files)
    if no_sink:
        sink_path = None
    elif sink_path is None and (config.get("AUDIT_SINK") or "").lower() == "file":
        sink_path = audit_module.sink_path(current_app)
    show_progress = sys.stderr.isatty() if progress is None else progress
    try:
        with db.engine.connect() as conn:
            if show_progress:
                total = conn.exec_driver_sql("SELECT seq FROM audit_events ORDER BY id DESC LIMIT 1").scalar() or 0
                with click.progressbar(length=total, label="Verifying audit log", file=sys.stderr) as bar:
                    result = audit_chain.verify_chain(conn, current, sink_path, public_keys=extra,
                                                      progress=bar.update)
            else:
                result = audit_chain.verify_chain(conn, current, sink_path, public_keys=extra)
    except Exception as exc:  # noqa: BLE001 - a failure to read is not a verdict
        raise CannotVerify(f"could not read the audit log: {exc}") from exc
    _report(result, sink_path)
    sys.exit(0 if result.ok else 1)


def _report(result: audit_chain.VerifyResult, sink_path: str | None) -> None:
    head = f"head event #{result.head_id}, hash {result.head_hash.hex()[:16]}…" if result.head_id else "empty"
    if result.ok:
        click.echo(f"Audit log intact: {result.events} events ({head}), {result.checkpoints} checkpoint(s) "
                   f"with valid signatures; verified in {result.seconds:.2f} s.")
        if result.last_checkpoint is not None:
            click.echo(f"Last {result.last_checkpoint.describe()}.")
        if result.sink_checked:
            click.echo(f"Sink {sink_path}: {result.sink_lines} line(s), consistent with the database.")
    else:
        first = result.first_broken
        click.echo("AUDIT LOG VERIFICATION FAILED: the log has been tampered with or damaged.", err=True)
        click.echo(f"First broken: {first.describe()}", err=True)
        if len(result.problems) > 1:
            click.echo(f"All problems ({len(result.problems)}):", err=True)
            for problem in sorted(result.problems, key=lambda p: (p.seq is None, p.seq or 0)):
                click.echo(f"  - [{problem.kind}] {problem.describe()}", err=True)
        click.echo(f"Checked {result.events} events ({head}) and {result.checkpoints} checkpoint(s). "
                   "Preserve the database and the sink as they are; see docs/audit.md.", err=True)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)


@audit.command("checkpoint")
@click.option("--force", is_flag=True, help="Write one even if the last checkpoint already covers the head.")
@with_appcontext
def checkpoint(force: bool) -> None:
    """Sign the current head of the chain now (run from cron/systemd every few minutes)."""
    try:
        cp = audit_module.write_checkpoint(force=force)
    except KeyConfigError as exc:
        raise click.ClickException(f"cannot sign: {exc}") from exc
    if cp is None:
        click.echo("Nothing to sign: no events, or the last checkpoint already covers the head.")
    else:
        click.echo(f"Wrote {cp.describe()}, key {cp.key_id}, head hash {cp.head_hash.hex()}.")


@audit.command("public-key")
@with_appcontext
def public_key() -> None:
    """Print the audit public key (PEM) and its key id; keep a copy with every key backup and rotation."""
    try:
        key = current_app.extensions["caseapp.keys"].audit_public_key()
    except KeyConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"# key id {audit_chain.key_id(key)}")
    click.echo(audit_chain.public_key_pem(key), nl=False)
