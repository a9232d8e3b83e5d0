"""audit: on PostgreSQL, one function call appends an event (lock, head read, hash, insert) instead of two statements

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 01:40:00

"""
from alembic import op

from caseapp.security import audit_chain

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # The function's text is frozen under its versioned name (audit_chain.PG_APPEND_FUNCTION, "..._v1"): a change
    # is a new function and a new migration, so importing the text here stays what this revision created.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(audit_chain.PG_APPEND_FUNCTION_SQL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(audit_chain.PG_DROP_APPEND_FUNCTION_SQL)
