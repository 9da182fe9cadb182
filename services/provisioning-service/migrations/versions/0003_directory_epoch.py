"""The directory's epoch: which database its version counts in.

A copy of the directory (the token service's, in Redis) outlives the
database it was taken from: a recreated development database or a new
environment pointed at an old Redis starts counting versions again from 1,
and the copy, already further on, would ignore every snapshot. The epoch is
drawn once per database, so a copy from another one is replaced.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE directory_version_tbl
            ADD COLUMN epoch text NOT NULL DEFAULT gen_random_uuid()::text;
        COMMENT ON COLUMN directory_version_tbl.epoch IS
            'Drawn once per database; copies of the directory compare versions '
            'only within one epoch. Draw a new one after restoring a backup.';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE directory_version_tbl DROP COLUMN epoch")
