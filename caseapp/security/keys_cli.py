"""`caseapp keys ...`: KEK status, rotation (rewrap), retirement, and data-key re-encryption.

Run as the service user (the key files are 0600). Every command commits in batches and is safe to interrupt
and run again: rotation skips data keys already wrapped with the target version, re-encryption works person
by person in its own transaction. See docs/crypto.md, "CLI".
"""

from __future__ import annotations

import uuid
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import String, bindparam, func, select, type_coerce, update

from caseapp.extensions import db
from caseapp.security import audit
from caseapp.security.crypto import CryptoError, wrap_aad_uuid_bytes
from caseapp.security.keys import KeyConfigError, KeyUnwrapError, UnknownKeyVersion

REWRAP_BATCH = 2000
REENCRYPT_BATCH = 100


def _provider():
    from caseapp.security.services import load_keys

    load_keys(current_app._get_current_object(), keys_required=False)
    provider = current_app.extensions["caseapp.keys"]
    try:
        provider.kek_versions()
    except KeyConfigError as exc:
        raise click.ClickException(f"keys are not usable: {exc}") from exc
    return provider


def _key_model():
    from caseapp.people.models import PersonKey

    return PersonKey


def key_usage() -> tuple[Counter[int], int]:
    """(live data keys per KEK version, number of shredded keys)."""
    PersonKey = _key_model()
    live: Counter[int] = Counter()
    for version, count in db.session.execute(
        select(PersonKey.kek_version, func.count()).where(PersonKey.wrapped.is_not(None))
        .group_by(PersonKey.kek_version)
    ):
        live[int(version)] = int(count)
    shredded = db.session.scalar(select(func.count()).select_from(PersonKey).where(PersonKey.wrapped.is_(None)))
    return live, int(shredded or 0)


@click.group("keys")
def keys() -> None:
    """Key-encryption keys (KEK) and the people's data keys: status, rotate, retire, reencrypt."""


@keys.command("status")
@with_appcontext
def status() -> None:
    """KEK versions and how many data keys each one wraps."""
    provider = _provider()
    versions = provider.kek_versions()
    active = provider.active_kek_version()
    live, shredded = key_usage()
    click.echo(f"{'KEK':<8} {'state':<10} data keys")
    for version in sorted(set(versions) | set(live)):
        state = "active" if version == active else ("present" if version in versions else "MISSING")
        click.echo(f"v{version:<7} {state:<10} {live.get(version, 0)}")
    click.echo(f"shredded data keys (no KEK needed): {shredded}")
    missing = sorted(set(live) - set(versions))
    if missing:
        raise click.ClickException(
            "data keys are wrapped with KEK version(s) that are not available: "
            + ", ".join(f"v{v}" for v in missing) + ". Restore the key file(s) from the key backup.")
    older = sum(n for v, n in live.items() if v != active)
    if older:
        click.echo(f"{older} data key(s) are not on the active version: run `caseapp keys rotate` to finish.")


def rewrap_all(provider, target: int, *, batch: int = REWRAP_BATCH, progress=None) -> int:
    """Rewrap every live data key not on KEK `target` with `target`, committing per batch. Keyset paging
    on the primary key; each UPDATE is conditional on the row still holding what was read, so a key that is
    shredded or replaced meanwhile is left alone. Returns the number rewrapped.

    The ids are read and written in their stored form (SQLite: 32-character hex text; PostgreSQL: native
    uuid, which the driver converts): no UUID object per row and no per-row statement compilation, which is
    most of the time of a rotation over 100,000 people. The AAD is the same bytes as `wrap_aad`."""
    PersonKey = _key_model()
    table = PersonKey.__table__
    dialect = db.session.connection().dialect.name
    hex_ids = dialect == "sqlite"  # sqlalchemy's Uuid on SQLite: CHAR(32) hex
    pid_col = type_coerce(table.c.person_id, String) if hex_ids else table.c.person_id
    kid_col = type_coerce(table.c.key_id, String) if hex_ids else table.c.key_id
    if dialect in ("sqlite", "postgresql"):
        mark = "?" if hex_ids else "%s"
        sql = (f"UPDATE {table.name} SET wrapped = {mark}, kek_version = {mark} "  # noqa: S608 (no input)
               f"WHERE person_id = {mark} AND key_id = {mark} AND kek_version = {mark}")
    else:  # any other database: the same update through SQLAlchemy's types
        sql = None
        stmt = (
            update(table)
            .where(table.c.person_id == bindparam("pid"), table.c.key_id == bindparam("kid"),
                   table.c.kek_version == bindparam("old_version"))
            .values(wrapped=bindparam("new_wrapped"), kek_version=target)
        )
    unwrap, wrap = provider.unwrap_data_key, provider.wrap_data_key
    fromhex = bytes.fromhex
    done = 0
    last = None
    while True:
        query = (select(pid_col, kid_col, table.c.kek_version, table.c.wrapped)
                 .where(table.c.wrapped.is_not(None), table.c.kek_version != target)
                 .order_by(pid_col).limit(batch))
        if last is not None:
            query = query.where(pid_col > last)
        rows = db.session.execute(query).all()
        if not rows:
            break
        params = []
        for person_id, key_id, version, wrapped in rows:
            if hex_ids:  # (any other stored spelling of a UUID still works, through uuid.UUID)
                owner = fromhex(person_id) if len(person_id) == 32 else uuid.UUID(person_id).bytes
                kid = fromhex(key_id) if len(key_id) == 32 else uuid.UUID(key_id).bytes
            else:
                owner, kid = person_id.bytes, key_id.bytes
            try:
                raw = unwrap(version, bytes(wrapped), wrap_aad_uuid_bytes(owner, version, kid))
            except UnknownKeyVersion as exc:
                db.session.rollback()
                raise click.ClickException(f"{exc} (data key of person {uuid.UUID(bytes=owner)})") from exc
            except KeyUnwrapError as exc:  # tampered, or copied from another person
                db.session.rollback()
                raise click.ClickException(
                    f"the data key of person {uuid.UUID(bytes=owner)} does not unwrap under KEK v{version}: "
                    f"{exc}") from exc
            new_wrapped = wrap(target, raw, wrap_aad_uuid_bytes(owner, target, kid))
            if sql is not None:
                params.append((new_wrapped, target, person_id, key_id, version))
            else:
                params.append({"pid": person_id, "kid": key_id, "old_version": version, "new_wrapped": new_wrapped})
        if sql is not None:
            db.session.connection().exec_driver_sql(sql, params)
        else:
            db.session.execute(stmt, params)
        db.session.commit()
        done += len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress.update(len(rows))
    return done


@keys.command("rotate")
@click.option("--batch", default=REWRAP_BATCH, show_default=True, help="Data keys per transaction.")
@with_appcontext
def rotate(batch: int) -> None:
    """Create a new KEK version and rewrap every data key with it (fields are not re-encrypted).

    If an earlier rotation was interrupted (some data keys are still on older versions), this finishes it
    with the current active version instead of creating yet another one.
    """
    provider = _provider()
    live, _shredded = key_usage()
    active = provider.active_kek_version()
    pending = sum(n for v, n in live.items() if v != active)
    if pending and live.get(active):
        target = active
        click.echo(f"Continuing an unfinished rotation to KEK v{target}: {pending} data key(s) left.")
    else:
        target = provider.create_kek_version()
        click.echo(f"Created KEK v{target} (file kek-v{target}.key); it is now the active version.")
        pending = sum(live.values())
    from_versions = sorted(v for v in live if v != target)
    with click.progressbar(length=pending, label="Rewrapping data keys", show_pos=True) as bar:
        done = rewrap_all(provider, target, batch=batch, progress=bar)
    audit.record("key_rotation", actor=None, object_type="kek", object_id=f"v{target}",
                 details={"to_version": target, "rewrapped": done,
                          "from_versions": "/".join(f"v{v}" for v in from_versions) or "-"})
    db.session.commit()
    click.echo(f"Rewrapped {done} data key(s) with KEK v{target}.")
    if from_versions:
        click.echo("Old versions can now be retired: " + ", ".join(
            f"`caseapp keys retire {v}`" for v in from_versions if v in provider.kek_versions()))


@keys.command("retire")
@click.argument("version", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def retire(version: int, yes: bool) -> None:
    """Delete KEK VERSION's key file. Refused while any data key is still wrapped with it, or if active."""
    provider = _provider()
    if version not in provider.kek_versions():
        raise click.ClickException(f"KEK v{version} does not exist (already retired?)")
    if version == provider.active_kek_version():
        raise click.ClickException(f"KEK v{version} is the active version; run `caseapp keys rotate` first")
    live, _shredded = key_usage()
    if live.get(version):
        raise click.ClickException(
            f"refused: {live[version]} data key(s) are still wrapped with KEK v{version}; "
            "run `caseapp keys rotate` to finish rewrapping first")
    if not yes:
        click.confirm(f"Delete kek-v{version}.key for good? Destroy its copies in key backups too", abort=True)
    provider.retire_kek_version(version)
    audit.record("key_retire", actor=None, object_type="kek", object_id=f"v{version}", details={"version": version})
    db.session.commit()
    click.echo(f"Retired KEK v{version}. Now destroy every copy of kek-v{version}.key in key backups: "
               "database backups whose data keys it wrapped stay readable until then.")


def reencrypt_person(person_id: uuid.UUID) -> int:
    """Give one person a fresh data key and re-encrypt every encrypted field of theirs (all registered models,
    history included) under it, in the current transaction. Blind indexes do not change (they use the index
    key). Returns the number of fields re-encrypted; raises ShreddedError for a shredded person."""
    from caseapp.security.crypto import ShreddedError
    from caseapp.security.fields import key_scope, reencrypt_owner_rows
    from caseapp.timeutil import utcnow

    PersonKey = _key_model()
    row = db.session.get(PersonKey, person_id)
    if row is None:
        raise click.ClickException(f"person {person_id} has no data key")
    if row.wrapped is None:
        raise ShreddedError(person_id, row.key_id)
    scope = key_scope()
    old = scope.key_for(person_id)
    new, wrapped, version = scope.ring.new_data_key(person_id)
    count = reencrypt_owner_rows(db.session, person_id, old, new)
    row.key_id, row.wrapped, row.kek_version, row.created_at = new.key_id, wrapped, version, utcnow()
    scope.forget(person_id)
    scope.install(person_id, new)
    audit.record("key_reencrypt", actor=None, object_type="person", object_id=person_id,
                 subject_person_id=person_id, details={"fields": count, "kek_version": version})
    return count


@keys.command("reencrypt")
@click.option("--person", "person_id", type=click.UUID, default=None, help="One person's id.")
@click.option("--all", "all_people", is_flag=True, help="Every person that is not shredded.")
@with_appcontext
def reencrypt(person_id: uuid.UUID | None, all_people: bool) -> None:
    """Fresh data key(s) and re-encryption of every encrypted field, for a suspected data-key leak.

    One transaction per person (committed in groups), so it is safe to interrupt; `--all` run again redoes
    everyone (a fresh key again), which is harmless.
    """
    if (person_id is None) == (not all_people):
        raise click.UsageError("give exactly one of --person ID or --all")
    _provider()
    PersonKey = _key_model()
    if person_id is not None:
        try:
            count = reencrypt_person(person_id)
        except CryptoError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"Person {person_id}: fresh data key, {count} field(s) re-encrypted.")
        return
    ids = list(db.session.scalars(select(PersonKey.person_id).where(PersonKey.wrapped.is_not(None))
                                  .order_by(PersonKey.person_id)))
    db.session.commit()
    total = 0
    with click.progressbar(ids, label="Re-encrypting people", show_pos=True) as bar:
        for n, pid in enumerate(bar, 1):
            try:
                total += reencrypt_person(pid)
            except CryptoError as exc:
                db.session.rollback()
                raise click.ClickException(f"person {pid}: {exc}; earlier people are done") from exc
            if n % REENCRYPT_BATCH == 0:
                db.session.commit()
    db.session.commit()
    click.echo(f"{len(ids)} person(s): fresh data keys, {total} field(s) re-encrypted.")
