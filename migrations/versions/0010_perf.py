"""perf: the blind-index lookup index also covers person_id, so a name or number search reads only the index
(SQLite otherwise fetches a table row for each of the ~1,000 people sharing a common name token)

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-02 01:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('person_search_index', schema=None) as batch_op:
        batch_op.drop_index('ix_person_search_index_kind_digest')
        batch_op.create_index('ix_person_search_index_lookup', ['kind', 'digest', 'person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('person_search_index', schema=None) as batch_op:
        batch_op.drop_index('ix_person_search_index_lookup')
        batch_op.create_index('ix_person_search_index_kind_digest', ['kind', 'digest'], unique=False)
