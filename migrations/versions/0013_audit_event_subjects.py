"""audit: the people an event of a list page is about (one event per page instead of one per person shown)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_event_subjects',
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.Column('person_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'],
                                name=op.f('fk_audit_event_subjects_event_id_audit_events')),
        sa.PrimaryKeyConstraint('event_id', 'person_id', name=op.f('pk_audit_event_subjects')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('audit_event_subjects', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_subjects_person_id', ['person_id', 'event_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_event_subjects', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_subjects_person_id')
    op.drop_table('audit_event_subjects')
