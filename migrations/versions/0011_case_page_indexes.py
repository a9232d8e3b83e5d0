"""case and start pages: indexes for the presence query (does the case have corrections? objections?) and a
partial index of the protected people (the access policy's per-case protection check)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entries_corrections', ['case_id'], unique=False,
                              sqlite_where=sa.text('corrects_id IS NOT NULL'),
                              postgresql_where=sa.text('corrects_id IS NOT NULL'))
    with op.batch_alter_table('journal_objections', schema=None) as batch_op:
        batch_op.create_index('ix_journal_objections_case_id', ['case_id'], unique=False)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_protected', ['id'], unique=False,
                              sqlite_where=sa.text("protection != 'none'"),
                              postgresql_where=sa.text("protection != 'none'"))


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_protected')
    with op.batch_alter_table('journal_objections', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_objections_case_id')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_entries_corrections')
