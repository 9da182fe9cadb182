"""Partners, locations, grants, POS users, memberships, roles and redemptions.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# DESIGN §3.3, exactly.
CASHIER = (
    "pos.order.read",
    "pos.order.create",
    "pos.payment.initiate",
    "pos.payment.refund",
    "pos.payment.void",
    "pos.customer.read",
    "pos.customer.create",
)
SUPERVISOR = (*CASHIER, "pos.order.override", "pos.report.read", "pos.settings.read")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE partner_tbl (
            partner_id text PRIMARY KEY,
            name text NOT NULL,
            status text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended')),
            replace_display_name boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON COLUMN partner_tbl.replace_display_name IS
            'opt-in: a given display_name replaces the stored one on each launch';

        CREATE TABLE location_tbl (
            location_id uuid PRIMARY KEY,
            name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE partner_location_tbl (
            partner_id text NOT NULL REFERENCES partner_tbl (partner_id),
            location_id uuid NOT NULL REFERENCES location_tbl (location_id),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (partner_id, location_id)
        );

        CREATE TABLE pos_role_tbl (
            role_slug text PRIMARY KEY,
            name text NOT NULL
        );

        CREATE TABLE pos_role_permission_tbl (
            role_slug text NOT NULL REFERENCES pos_role_tbl (role_slug),
            permission text NOT NULL,
            PRIMARY KEY (role_slug, permission)
        );

        CREATE TABLE pos_user_tbl (
            pos_user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            partner_id text NOT NULL REFERENCES partner_tbl (partner_id),
            external_user_id text NOT NULL
                CHECK (char_length(external_user_id) BETWEEN 1 AND 255),
            display_name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (partner_id, external_user_id)
        );

        CREATE TABLE pos_user_membership_tbl (
            pos_user_id uuid NOT NULL REFERENCES pos_user_tbl (pos_user_id),
            location_id uuid NOT NULL REFERENCES location_tbl (location_id),
            role_slug text NOT NULL REFERENCES pos_role_tbl (role_slug),
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (pos_user_id, location_id)
        );

        -- One row per processed redemption: the idempotency key of redelivered
        -- messages (the stored result is replayed) and the audit trail.
        CREATE TABLE launch_redemption_tbl (
            jti text PRIMARY KEY,
            pos_user_id uuid NOT NULL REFERENCES pos_user_tbl (pos_user_id),
            location_id uuid NOT NULL REFERENCES location_tbl (location_id),
            partner_id text NOT NULL REFERENCES partner_tbl (partner_id),
            role_slug text NOT NULL REFERENCES pos_role_tbl (role_slug),
            display_name text NOT NULL,
            permissions text[] NOT NULL,
            user_created boolean NOT NULL,
            membership_created boolean NOT NULL,
            redeemed_at timestamptz NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX launch_redemption_user_idx
            ON launch_redemption_tbl (pos_user_id, processed_at);

        -- One row: the directory version, bumped in the same transaction as
        -- every change to partners or grants, so a snapshot never claims a
        -- version whose change it cannot see (a sequence is not transactional).
        CREATE TABLE directory_version_tbl (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version bigint NOT NULL
        );
        INSERT INTO directory_version_tbl (singleton, version) VALUES (true, 0);

        INSERT INTO pos_role_tbl (role_slug, name) VALUES
            ('location_cashier', 'Cashier'),
            ('location_supervisor', 'Supervisor');
        """
    )
    rows = [("location_cashier", p) for p in CASHIER]
    rows += [("location_supervisor", p) for p in SUPERVISOR]
    values = ",\n".join(f"('{role}', '{permission}')" for role, permission in rows)
    op.execute(
        f"INSERT INTO pos_role_permission_tbl (role_slug, permission) VALUES {values}"  # noqa: S608 -- constants above, no input
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE launch_redemption_tbl, pos_user_membership_tbl, pos_user_tbl,
            pos_role_permission_tbl, pos_role_tbl, partner_location_tbl,
            location_tbl, partner_tbl, directory_version_tbl;
        """
    )
