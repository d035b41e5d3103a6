"""compare: incremental comparator state, discrepancy evidence and acknowledgement, lookup indexes

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import connector.store.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

AWARE = connector.store.types.AwareDateTime(length=32)
DECIMAL = connector.store.types.DecimalText(length=40)
INDEXES = [
    ("ledger_entries", "ix_ledger_entries_doc", ["doc_ref", "gds_mtno"]),
    ("ledger_entries", "ix_ledger_entries_mtno", ["gds_mtno", "doc_ref"]),
    ("bond_invt_heads", "ix_bond_invt_heads_receipt", ["receipt_id"]),
    ("bond_invt_lines", "ix_bond_invt_lines_receipt", ["receipt_id"]),
    ("bond_invt_lines", "ix_bond_invt_lines_mtno", ["gds_mtno"]),
    ("ledger_lines", "ix_ledger_lines_receipt", ["receipt_id"]),
    ("passports", "ix_passports_receipt", ["receipt_id"]),
    ("passport_links", "ix_passport_links_rlt", ["rlt_no"]),
    ("stock_bills", "ix_stock_bills_receipt", ["receipt_id"]),
    ("cent_dcl_stock_links", "ix_cent_dcl_stock_links_receipt", ["receipt_id"]),
]


def upgrade() -> None:
    op.create_table('compare_state',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', AWARE, nullable=False),
    sa.PrimaryKeyConstraint('name'))
    op.create_table('compare_pending',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('unit_key', sa.String(length=300), nullable=False),
    sa.Column('due_at', AWARE, nullable=False),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_compare_pending_due', 'compare_pending', ['due_at'])
    op.create_index('ix_compare_pending_unit', 'compare_pending', ['unit_key'])
    op.create_table('compare_balances',
    sa.Column('bws_no', sa.String(length=20), nullable=False),
    sa.Column('gds_seqno', sa.String(length=20), nullable=False),
    sa.Column('gds_mtno', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('qty', DECIMAL, nullable=False),
    sa.Column('last_occurred_at', AWARE, nullable=False),
    sa.PrimaryKeyConstraint('bws_no', 'gds_seqno'))
    op.create_table('compare_list_docs',
    sa.Column('bond_invt_no', sa.String(length=64), nullable=False),
    sa.Column('doc_ref', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('bond_invt_no'))
    op.create_table('compare_passport_links',
    sa.Column('passport_no', sa.String(length=64), nullable=False),
    sa.Column('bond_invt_no', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('passport_no', 'bond_invt_no'))
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ack_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('acked_at', AWARE, nullable=True))
        batch_op.create_index('ix_discrepancies_unit', ['unit_key'], unique=False)
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index('ix_discrepancies_unit')
        for column in ('acked_at', 'ack_reason', 'evidence', 'unit_key'):
            batch_op.drop_column(column)
    op.drop_table('compare_passport_links')
    op.drop_table('compare_list_docs')
    op.drop_table('compare_balances')
    op.drop_index('ix_compare_pending_unit', table_name='compare_pending')
    op.drop_index('ix_compare_pending_due', table_name='compare_pending')
    op.drop_table('compare_pending')
    op.drop_table('compare_state')
