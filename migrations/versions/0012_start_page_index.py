"""start page: the worker's open cases from one covering index (with the unit and the person that the access
policy checks), replacing ix_cases_responsible_open

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_responsible_page', ['responsible_id', 'state', 'updated_at', 'next_due_on',
                                                            'unit_id', 'person_id', 'id'], unique=False)
        batch_op.drop_index('ix_cases_responsible_open')


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_responsible_open', ['responsible_id', 'state', 'updated_at', 'next_due_on',
                                                            'id'], unique=False)
        batch_op.drop_index('ix_cases_responsible_page')
