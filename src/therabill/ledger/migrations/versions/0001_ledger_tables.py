"""The ledger's first tables: patients, posted visits and their lines.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_patients",
        sa.Column("patient_id", sa.String(128), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ledger_visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(128), sa.ForeignKey("ledger_patients.patient_id"),
                  nullable=False),
        sa.Column("visit_id", sa.String(128), nullable=False),
        sa.Column("date_of_service", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("payer", sa.String(64), nullable=False),
        sa.Column("counts_toward_threshold", sa.Boolean, nullable=False),
        sa.Column("applies_deductible", sa.Boolean, nullable=False),
        sa.Column("checked_deductible_remaining_cents", sa.BigInteger, nullable=False),
        sa.Column("checked_ytd_pt_slp_cents", sa.BigInteger, nullable=False),
        sa.Column("checked_ytd_ot_cents", sa.BigInteger, nullable=False),
        sa.Column("allowed_cents", sa.BigInteger, nullable=False),
        sa.Column("payer_paid_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_owes_cents", sa.BigInteger, nullable=False),
        sa.Column("pt_slp_cents", sa.BigInteger, nullable=False),
        sa.Column("ot_cents", sa.BigInteger, nullable=False),
        sa.Column("deductible_cents", sa.BigInteger, nullable=False),
        sa.Column("times_posted", sa.Integer, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gave_ytd", sa.Boolean, nullable=False),
        sa.Column("gave_deductible", sa.Boolean, nullable=False),
        sa.Column("visit_json", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.UniqueConstraint("patient_id", "visit_id", name="uq_ledger_visits_patient_visit"),
    )
    op.create_index("ix_ledger_visits_patient_year", "ledger_visits",
                    ["patient_id", "year", "date_of_service"])
    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("visit_row", sa.Integer,
                  sa.ForeignKey("ledger_visits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("modifiers", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("discipline", sa.String(3), nullable=True),
        sa.Column("threshold_group", sa.String(6), nullable=True),
        sa.Column("allowed_cents", sa.BigInteger, nullable=False),
        sa.Column("payer_paid_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_owes_cents", sa.BigInteger, nullable=False),
        sa.Column("threshold_cents", sa.BigInteger, nullable=False),
        sa.Column("deductible_cents", sa.BigInteger, nullable=False),
        sa.Column("kx_denied", sa.Boolean, nullable=False),
    )
    op.create_index("ix_ledger_lines_visit_row", "ledger_lines", ["visit_row"])


def downgrade() -> None:
    op.drop_index("ix_ledger_lines_visit_row", "ledger_lines")
    op.drop_table("ledger_lines")
    op.drop_index("ix_ledger_visits_patient_year", "ledger_visits")
    op.drop_table("ledger_visits")
    op.drop_table("ledger_patients")
