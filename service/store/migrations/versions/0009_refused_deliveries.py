"""refused_deliveries: webhook deliveries refused for no or a wrong signature, the latest few per forge

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

import service.store.tables


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'refused_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('forge', sa.String(length=30), nullable=False),
        sa.Column('event', sa.String(length=100), nullable=False),
        sa.Column('delivery_id', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('sender', sa.String(length=100), nullable=False),
        sa.Column('received_at', service.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_refused_deliveries_forge_id', 'refused_deliveries', ['forge', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_refused_deliveries_forge_id', table_name='refused_deliveries')
    op.drop_table('refused_deliveries')
