"""`caseapp supervision sample`: draw last month's log sample for every unit (run monthly from cron)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from caseapp.extensions import db


@click.group("supervision")
def supervision() -> None:
    """Systematic log follow-up."""


@supervision.command("sample")
@click.option("--period", default=None, help="YYYY-MM (default: last month)")
@with_appcontext
def sample(period: str | None) -> None:
    """Draw the month's random sample of reads for every active unit (idempotent)."""
    from caseapp.accounts.models import Unit
    from caseapp.supervision import operations as ops

    units = list(db.session.scalars(db.select(Unit).where(Unit.active.is_(True))))
    period = period or ops.previous_period()
    try:
        samples = [ops.draw_sample(None, unit, period) for unit in units]
    except ops.SupervisionError as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    for unit, s in zip(units, samples, strict=True):
        click.echo(f"{period} {unit.code:<24} {s.size:>4} of {s.population:>6} reads  {'signed' if s.is_signed else 'open'}")
