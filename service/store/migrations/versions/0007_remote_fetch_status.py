"""remotes: how fetching each went (last attempt, last success, last error, failures in a row)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

import service.store.tables


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('remotes', sa.Column('last_attempt_at', service.store.tables.UTCDateTime(), nullable=True))
    op.add_column('remotes', sa.Column('last_success_at', service.store.tables.UTCDateTime(), nullable=True))
    op.add_column('remotes', sa.Column('last_error_code', sa.String(length=50), nullable=True))
    op.add_column('remotes', sa.Column('last_error_message', sa.Text(), nullable=True))
    op.add_column('remotes', sa.Column('fetch_failures', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('remotes') as batch:
        batch.drop_column('fetch_failures')
        batch.drop_column('last_error_message')
        batch.drop_column('last_error_code')
        batch.drop_column('last_success_at')
        batch.drop_column('last_attempt_at')
