"""supervision: attention reviews and monthly log samples

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attention_reviews',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reviewed_by', sa.Uuid(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('comment_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['reviewed_by'], ['users.id'], name=op.f('fk_attention_reviews_reviewed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attention_reviews')),
    sa.UniqueConstraint('event_id', 'kind', name=op.f('uq_attention_reviews_event_id'))
    )
    with op.batch_alter_table('attention_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attention_reviews_event_id'), ['event_id'], unique=False)

    op.create_table('log_samples',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('unit_id', sa.Uuid(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('signed_by', sa.Uuid(), nullable=True),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('conclusion', sa.String(length=24), nullable=True),
    sa.Column('comment_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_log_samples_created_by_users')),
    sa.ForeignKeyConstraint(['signed_by'], ['users.id'], name=op.f('fk_log_samples_signed_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_log_samples_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_samples')),
    sa.UniqueConstraint('unit_id', 'period', name=op.f('uq_log_samples_unit_id'))
    )
    with op.batch_alter_table('log_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_samples_unit_id'), ['unit_id'], unique=False)

    op.create_table('log_sample_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sample_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('finding', sa.String(length=16), nullable=True),
    sa.Column('checked_by', sa.Uuid(), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.Column('note_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_log_sample_items_checked_by_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['log_samples.id'], name=op.f('fk_log_sample_items_sample_id_log_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_sample_items'))
    )
    with op.batch_alter_table('log_sample_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_sample_items_sample_id'), ['sample_id'], unique=False)


def downgrade():
    with op.batch_alter_table('log_sample_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_sample_items_sample_id'))
    op.drop_table('log_sample_items')
    with op.batch_alter_table('log_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_samples_unit_id'))
    op.drop_table('log_samples')
    with op.batch_alter_table('attention_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attention_reviews_event_id'))
    op.drop_table('attention_reviews')
