"""delivery: outbox order column, sink circuit state, alert de-duplication log; held -> dead

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import connector.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_order', ['sink', 'discrepancy_id', 'seq'], unique=False)
    op.execute("UPDATE outbox SET status = 'dead' WHERE status = 'held'")
    op.create_table('sink_state',
    sa.Column('sink', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('open_until', connector.store.types.AwareDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('changed_at', connector.store.types.AwareDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sink')
    )
    op.create_table('alert_log',
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('last_at', connector.store.types.AwareDateTime(), nullable=True),
    sa.Column('suppressed', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject')
    )
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.create_index('ix_alert_log_kind', ['kind', 'last_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_log', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_log_kind')
    op.drop_table('alert_log')
    op.drop_table('sink_state')
    op.execute("UPDATE outbox SET status = 'held' WHERE status = 'dead'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_order')
        batch_op.drop_column('seq')
