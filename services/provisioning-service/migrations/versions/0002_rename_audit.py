"""The audit trail of names that follow the partner: the name a launch replaced.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE launch_redemption_tbl ADD COLUMN previous_display_name text;
        COMMENT ON COLUMN launch_redemption_tbl.previous_display_name IS
            'The stored name this launch replaced (partner opted into name '
            'updates); null when the launch changed no name. display_name is '
            'the new one.';
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE launch_redemption_tbl DROP COLUMN previous_display_name")
