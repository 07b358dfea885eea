"""backups: what force pushes and rebases replaced, as workers kept it in clones

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

import service.store.tables


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'backups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('repo_id', sa.Integer(), nullable=False),
        sa.Column('remote', sa.String(length=100), nullable=True),
        sa.Column('branch', sa.String(length=255), nullable=False),
        sa.Column('ref', sa.Text(), nullable=False),
        sa.Column('sha', sa.String(length=64), nullable=False),
        sa.Column('replaced_by', sa.String(length=64), nullable=True),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('created_at', service.store.tables.UTCDateTime(), nullable=False),
        sa.Column('deleted_at', service.store.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['repo_id'], ['repos.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('repo_id', 'ref', name='uq_backups_repo_ref'),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('backups')
