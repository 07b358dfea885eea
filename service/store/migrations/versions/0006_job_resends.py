"""jobs.resends and jobs.resend_at: the sweeper's back-off

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

import service.store.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('resends', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('jobs', sa.Column('resend_at', service.store.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('resend_at')
        batch.drop_column('resends')
