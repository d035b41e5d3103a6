"""compare_places: C7 located stock per ledger line, location and lot; compare_list_items

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import connector.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compare_places',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bws_no', sa.String(length=20), nullable=False),
    sa.Column('gds_seqno', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('lot', sa.String(length=200), nullable=True),
    sa.Column('gds_mtno', sa.String(length=64), nullable=False),
    sa.Column('qty', connector.store.types.DecimalText(length=40), nullable=False),
    sa.Column('last_occurred_at', connector.store.types.AwareDateTime(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_compare_places_line', 'compare_places', ['bws_no', 'gds_seqno'])
    op.create_table('compare_list_items',
    sa.Column('bond_invt_no', sa.String(length=64), nullable=False),
    sa.Column('mtnos', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('bond_invt_no'))


def downgrade() -> None:
    op.drop_table('compare_list_items')
    op.drop_index('ix_compare_places_line', table_name='compare_places')
    op.drop_table('compare_places')
