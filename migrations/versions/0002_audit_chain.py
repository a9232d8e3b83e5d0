"""audit chain: seq, NOT NULL hashes, audit_checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00

Existing events (written before the chain existed) are chained in id order here, with the frozen v1 encoding
of caseapp.security.audit_chain. The first checkpoint is written by the application (or `caseapp audit
checkpoint`), which has the signing key; a migration does not.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BATCH = 5000


def _backfill_chain() -> None:
    from caseapp.security.audit_chain import GENESIS, chain_rows

    bind = op.get_bind()
    events = sa.table(
        'audit_events',
        sa.column('id', sa.BigInteger()), sa.column('occurred_at', sa.DateTime()),
        sa.column('actor_user_id', sa.Uuid()), sa.column('actor_unit_id', sa.Uuid()),
        sa.column('actor_role', sa.String()), sa.column('action', sa.String()), sa.column('outcome', sa.String()),
        sa.column('object_type', sa.String()), sa.column('object_id', sa.String()),
        sa.column('subject_person_id', sa.Uuid()), sa.column('request_id', sa.String()),
        sa.column('ip', sa.String()), sa.column('details', sa.Text()),
        sa.column('seq', sa.BigInteger()), sa.column('prev_hash', sa.LargeBinary()), sa.column('hash', sa.LargeBinary()),
    )
    content = [c for c in events.c if c.name not in ('seq', 'prev_hash', 'hash')]
    seq, head = 0, GENESIS
    last_id = None
    while True:
        query = sa.select(*content).order_by(events.c.id).limit(BATCH)
        if last_id is not None:
            query = query.where(events.c.id > last_id)
        rows = [dict(r._mapping) for r in bind.execute(query)]
        if not rows:
            break
        seq, head = chain_rows(rows, seq, head)
        bind.execute(
            events.update().where(events.c.id == sa.bindparam('b_id'))
            .values(seq=sa.bindparam('b_seq'), prev_hash=sa.bindparam('b_prev'), hash=sa.bindparam('b_hash')),
            [{'b_id': r['id'], 'b_seq': r['seq'], 'b_prev': r['prev_hash'], 'b_hash': r['hash']} for r in rows],
        )
        last_id = rows[-1]['id']


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('event_count', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))

    _backfill_chain()

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.alter_column('hash', existing_type=sa.LargeBinary(length=32), nullable=True)
        batch_op.alter_column('prev_hash', existing_type=sa.LargeBinary(length=32), nullable=True)
        batch_op.drop_column('seq')

    op.drop_table('audit_checkpoints')
