"""start page: a worker's interventions and each one's open follow-ups from covering indexes (no table row
visited per intervention or per follow-up), replacing ix_interventions_responsible_status and
ix_intervention_follow_ups_intervention_id

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 04:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.create_index('ix_interventions_responsible_page',
                              ['responsible_id', 'status', 'id', 'person_id', 'type_id'], unique=False)
        batch_op.drop_index('ix_interventions_responsible_status')
    with op.batch_alter_table('intervention_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_intervention_follow_ups_due', ['intervention_id', 'done_on', 'due_on', 'id'],
                              unique=False)
        batch_op.drop_index('ix_intervention_follow_ups_intervention_id')


def downgrade():
    with op.batch_alter_table('intervention_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_intervention_follow_ups_intervention_id', ['intervention_id'], unique=False)
        batch_op.drop_index('ix_intervention_follow_ups_due')
    with op.batch_alter_table('interventions', schema=None) as batch_op:
        batch_op.create_index('ix_interventions_responsible_status', ['responsible_id', 'status'], unique=False)
        batch_op.drop_index('ix_interventions_responsible_page')
