"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 19:48:51.609443
"""
from alembic import op
import sqlalchemy as sa
import connector.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('discrepancies',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('ledger_no', sa.String(length=20), nullable=True),
    sa.Column('item_seq', sa.Integer(), nullable=True),
    sa.Column('item_no', sa.String(length=64), nullable=True),
    sa.Column('doc_refs', sa.JSON(), nullable=False),
    sa.Column('expected_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('actual_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('delta_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('unit', sa.String(length=10), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('first_seen', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('last_seen', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('resolved_at', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.create_index('ix_discrepancies_status', ['status'], unique=False)

    op.create_table('movements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('line_key', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=True),
    sa.Column('qty', connector.store.types.DecimalText(length=40), nullable=False),
    sa.Column('uom', sa.String(length=50), nullable=True),
    sa.Column('movement_type', sa.String(length=100), nullable=True),
    sa.Column('doc_ref', sa.String(length=200), nullable=True),
    sa.Column('lot', sa.String(length=200), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('occurred_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('changed_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('staged_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('ledger_state', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('mapping_version', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'line_key', 'revision', name='uq_movements_revision')
    )
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.create_index('ix_movements_ledger_state', ['ledger_state'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('sink', sa.String(length=100), nullable=False),
    sa.Column('event', sa.String(length=50), nullable=False),
    sa.Column('discrepancy_id', sa.String(length=64), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('sent_at', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('passport_lines',
    sa.Column('passport_no', sa.String(length=64), nullable=False),
    sa.Column('passport_seqno', sa.Integer(), nullable=False),
    sa.Column('rlt_gds_seqno', sa.Integer(), nullable=True),
    sa.Column('gds_mtno', sa.String(length=64), nullable=True),
    sa.Column('gdecd', sa.String(length=10), nullable=True),
    sa.Column('dcl_unitcd', sa.String(length=3), nullable=True),
    sa.Column('dcl_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('gross_wt', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('net_wt', connector.store.types.DecimalText(length=40), nullable=True),
    sa.PrimaryKeyConstraint('passport_no', 'passport_seqno')
    )
    op.create_table('passport_links',
    sa.Column('passport_no', sa.String(length=64), nullable=False),
    sa.Column('rlt_tb_typecd', sa.String(length=2), nullable=False),
    sa.Column('rlt_no', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('passport_no', 'rlt_tb_typecd', 'rlt_no')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('ref', sa.String(length=400), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('resolved_at', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_quarantine_open', ['stage', 'source', 'ref'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=400), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('message_type', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=100), nullable=True),
    sa.Column('business_id', sa.String(length=100), nullable=True),
    sa.Column('manage_result', sa.String(length=10), nullable=True),
    sa.Column('manage_date', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('received_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'sha256', name='uq_receipts_file')
    )
    op.create_table('run_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=50), nullable=False),
    sa.Column('started_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('finished_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('source_cursors',
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('halted_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('source')
    )
    op.create_table('bond_invt_heads',
    sa.Column('bond_invt_no', sa.String(length=64), nullable=False),
    sa.Column('etps_inner_invt_no', sa.String(length=64), nullable=True),
    sa.Column('invt_preent_no', sa.String(length=64), nullable=True),
    sa.Column('putrec_no', sa.String(length=20), nullable=True),
    sa.Column('impexp_markcd', sa.String(length=1), nullable=True),
    sa.Column('supv_modecd', sa.String(length=10), nullable=True),
    sa.Column('bond_invt_typecd', sa.String(length=5), nullable=True),
    sa.Column('vrfded_markcd', sa.String(length=2), nullable=True),
    sa.Column('invt_stucd', sa.String(length=2), nullable=True),
    sa.Column('entry_stucd', sa.String(length=2), nullable=True),
    sa.Column('manage_result', sa.String(length=5), nullable=True),
    sa.Column('result_rank', sa.Integer(), server_default='0', nullable=False),
    sa.Column('invt_dcl_time', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('prevd_time', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('formal_vrfded_time', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ),
    sa.PrimaryKeyConstraint('bond_invt_no')
    )
    with op.batch_alter_table('bond_invt_heads', schema=None) as batch_op:
        batch_op.create_index('ix_bond_invt_heads_inner', ['etps_inner_invt_no'], unique=False)

    op.create_table('bond_invt_lines',
    sa.Column('bond_invt_no', sa.String(length=64), nullable=False),
    sa.Column('gds_seqno', sa.Integer(), nullable=False),
    sa.Column('putrec_seqno', sa.Integer(), nullable=True),
    sa.Column('gds_mtno', sa.String(length=64), nullable=True),
    sa.Column('gdecd', sa.String(length=10), nullable=True),
    sa.Column('gds_nm', sa.Text(), nullable=True),
    sa.Column('dcl_unitcd', sa.String(length=3), nullable=True),
    sa.Column('dcl_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('lawf_unitcd', sa.String(length=3), nullable=True),
    sa.Column('lawf_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ),
    sa.PrimaryKeyConstraint('bond_invt_no', 'gds_seqno')
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('line_key', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('mapping_version', sa.String(length=64), nullable=False),
    sa.Column('bws_no', sa.String(length=20), nullable=False),
    sa.Column('gds_seqno', sa.Integer(), nullable=False),
    sa.Column('gds_mtno', sa.String(length=64), nullable=False),
    sa.Column('gdecd', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=1), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('dcl_qty', connector.store.types.DecimalText(length=40), nullable=False),
    sa.Column('dcl_unitcd', sa.String(length=3), nullable=False),
    sa.Column('lawf_qty', connector.store.types.DecimalText(length=40), nullable=False),
    sa.Column('lawf_unitcd', sa.String(length=3), nullable=False),
    sa.Column('doc_ref', sa.String(length=200), nullable=True),
    sa.Column('needs_list', sa.Boolean(), nullable=False),
    sa.Column('occurred_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('created_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.ForeignKeyConstraint(['movement_id'], ['movements.id'], ),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_item', ['bws_no', 'gds_seqno'], unique=False)
        batch_op.create_index('ix_ledger_entries_line', ['source', 'line_key'], unique=False)

    op.create_table('ledger_lines',
    sa.Column('bws_no', sa.String(length=20), nullable=False),
    sa.Column('gds_seqno', sa.Integer(), nullable=False),
    sa.Column('gds_mtno', sa.String(length=64), nullable=True),
    sa.Column('gdecd', sa.String(length=10), nullable=True),
    sa.Column('gds_nm', sa.Text(), nullable=True),
    sa.Column('dcl_unitcd', sa.String(length=3), nullable=True),
    sa.Column('lawf_unitcd', sa.String(length=3), nullable=True),
    sa.Column('in_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('actl_inc_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('actl_redc_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('prevd_inc_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('prevd_redc_qty', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('invt_no', sa.String(length=64), nullable=True),
    sa.Column('invt_g_no', sa.Integer(), nullable=True),
    sa.Column('modf_markcd', sa.String(length=2), nullable=True),
    sa.Column('as_of', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('qty_changed_at', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ),
    sa.PrimaryKeyConstraint('bws_no', 'gds_seqno')
    )
    op.create_table('passports',
    sa.Column('passport_no', sa.String(length=64), nullable=False),
    sa.Column('passport_typecd', sa.String(length=2), nullable=True),
    sa.Column('io_typecd', sa.String(length=1), nullable=True),
    sa.Column('bind_typecd', sa.String(length=2), nullable=True),
    sa.Column('rlt_tb_typecd', sa.String(length=2), nullable=True),
    sa.Column('rlt_no', sa.Text(), nullable=True),
    sa.Column('stucd', sa.String(length=2), nullable=True),
    sa.Column('manage_result', sa.String(length=5), nullable=True),
    sa.Column('result_rank', sa.Integer(), server_default='0', nullable=False),
    sa.Column('vehicle_no', sa.String(length=50), nullable=True),
    sa.Column('total_wt', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('total_gross_wt', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('pass_collect_wt', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('wt_error', connector.store.types.DecimalText(length=40), nullable=True),
    sa.Column('dcl_time', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('pass_time', connector.store.types.AwareDateTime(length=32), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], ),
    sa.PrimaryKeyConstraint('passport_no')
    )


def downgrade() -> None:
    op.drop_table('passports')
    op.drop_table('ledger_lines')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_line')
        batch_op.drop_index('ix_ledger_entries_item')

    op.drop_table('ledger_entries')
    op.drop_table('bond_invt_lines')
    with op.batch_alter_table('bond_invt_heads', schema=None) as batch_op:
        batch_op.drop_index('ix_bond_invt_heads_inner')

    op.drop_table('bond_invt_heads')
    op.drop_table('source_cursors')
    op.drop_table('run_log')
    op.drop_table('receipts')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_open')

    op.drop_table('quarantine')
    op.drop_table('passport_links')
    op.drop_table('passport_lines')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.drop_index('ix_movements_ledger_state')

    op.drop_table('movements')
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index('ix_discrepancies_status')

    op.drop_table('discrepancies')
