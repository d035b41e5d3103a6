"""doc covering index: the rebuild's WMS document signatures read ix_ledger_entries_doc alone

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DOC_COVERING = ['doc_ref', 'gds_mtno', 'needs_list', 'dcl_unitcd', 'dcl_qty']


def upgrade() -> None:
    # The rebuild's screen groups every entry needing a list by document (screen.WMS_SIGNATURES): with
    # the columns it reads in the index, SQLite scans the index in document order and never the table.
    # The (doc_ref, gds_mtno) prefix the ticks look documents up by is unchanged.
    op.drop_index('ix_ledger_entries_doc', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_doc', 'ledger_entries', DOC_COVERING)


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_doc', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_doc', 'ledger_entries', ['doc_ref', 'gds_mtno'])
