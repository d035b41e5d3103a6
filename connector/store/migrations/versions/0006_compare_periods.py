"""compare_periods: C9 write-off period sums, C5 dispatches by vehicle, passport vehicles

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import connector.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

AWARE = connector.store.types.AwareDateTime(length=32)
DECIMAL = connector.store.types.DecimalText(length=40)
ITEM_COVERING = ['bws_no', 'gds_seqno', 'direction', 'dcl_qty', 'occurred_at', 'gds_mtno', 'dcl_unitcd']


def upgrade() -> None:
    op.create_table('compare_periods',
    sa.Column('bws_no', sa.String(length=20), nullable=False),
    sa.Column('gds_seqno', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.String(length=10), nullable=False),
    sa.Column('period_end', sa.String(length=10), nullable=False),
    sa.Column('in_qty', DECIMAL, nullable=False),
    sa.Column('out_qty', DECIMAL, nullable=False),
    sa.PrimaryKeyConstraint('bws_no', 'gds_seqno', 'period_start'))
    op.create_table('compare_dispatches',
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('line_key', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('vehicle_no', sa.String(length=50), nullable=False),
    sa.Column('dispatched_at', AWARE, nullable=False),
    sa.Column('gross_wt', DECIMAL, nullable=True),
    sa.Column('doc_ref', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('source', 'line_key', 'revision'))
    op.create_index('ix_compare_dispatches_vehicle', 'compare_dispatches', ['vehicle_no'])
    op.create_table('compare_passport_vehicles',
    sa.Column('passport_no', sa.String(length=64), nullable=False),
    sa.Column('vehicle_no', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('passport_no'))
    op.create_index('ix_passports_vehicle', 'passports', ['vehicle_no'])
    # -- performance engineer's indexes (if any) go below this line --
    # The rebuild's WMS balances and C9 period sums read every ledger entry grouped by ledger line:
    # a covering index (ledger line first) lets SQLite scan it in order instead of the whole table.
    op.drop_index('ix_ledger_entries_item', table_name='ledger_entries')
    op.create_index('ix_ledger_entries_item', 'ledger_entries', ITEM_COVERING)


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_item', table_name='ledger_entries')  # performance engineer's block
    op.create_index('ix_ledger_entries_item', 'ledger_entries', ['bws_no', 'gds_seqno'])
    op.drop_index('ix_passports_vehicle', table_name='passports')
    op.drop_table('compare_passport_vehicles')
    op.drop_index('ix_compare_dispatches_vehicle', table_name='compare_dispatches')
    op.drop_table('compare_dispatches')
    op.drop_table('compare_periods')
