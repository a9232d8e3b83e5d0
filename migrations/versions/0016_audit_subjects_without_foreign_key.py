"""audit: the people of a list event are checked against the event by `caseapp audit verify`, not by a foreign
key; the key's check of every row (a share lock on the event row, 16 times for a start page) cost about
80-150 µs of the server time of each list page on PostgreSQL (190-270 -> 110-120 µs for 16 people)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 05:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event_subjects', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_event_subjects_event_id_audit_events', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('audit_event_subjects', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_audit_event_subjects_event_id_audit_events', 'audit_events',
                                    ['event_id'], ['id'])
