"""The ledger's tables (SQLAlchemy Core). Money is kept as whole cents in integer columns, exact
on every back end; the migrations in ``migrations/versions`` create the same tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
ID_LENGTH = 128  # patient and visit ids
PAYER_LENGTH = 64

# One row a patient: writers lock it, so two posts for one patient run one after the other;
# ``revision`` counts the writes.
patients = Table(
    "ledger_patients", metadata,
    Column("patient_id", String(ID_LENGTH), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

visits = Table(
    "ledger_visits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(ID_LENGTH), ForeignKey("ledger_patients.patient_id"),
           nullable=False),
    Column("visit_id", String(ID_LENGTH), nullable=False),
    Column("date_of_service", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("payer", String(PAYER_LENGTH), nullable=False),
    Column("counts_toward_threshold", Boolean, nullable=False),
    Column("applies_deductible", Boolean, nullable=False),
    Column("checked_deductible_remaining_cents", BigInteger, nullable=False),
    Column("checked_ytd_pt_slp_cents", BigInteger, nullable=False),
    Column("checked_ytd_ot_cents", BigInteger, nullable=False),
    Column("allowed_cents", BigInteger, nullable=False),
    Column("payer_paid_cents", BigInteger, nullable=False),
    Column("patient_owes_cents", BigInteger, nullable=False),
    Column("pt_slp_cents", BigInteger, nullable=False),
    Column("ot_cents", BigInteger, nullable=False),
    Column("deductible_cents", BigInteger, nullable=False),
    Column("times_posted", Integer, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("gave_ytd", Boolean, nullable=False),
    Column("gave_deductible", Boolean, nullable=False),
    Column("visit_json", Text, nullable=False),  # the visit as given, before the ledger's figures
    Column("result_json", Text, nullable=False),
    UniqueConstraint("patient_id", "visit_id", name="uq_ledger_visits_patient_visit"),
    Index("ix_ledger_visits_patient_year", "patient_id", "year", "date_of_service"),
)

lines = Table(
    "ledger_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("visit_row", Integer, ForeignKey("ledger_visits.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("code", String(5), nullable=False),
    Column("units", Integer, nullable=False),
    Column("modifiers", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("discipline", String(3), nullable=True),
    Column("threshold_group", String(6), nullable=True),
    Column("allowed_cents", BigInteger, nullable=False),
    Column("payer_paid_cents", BigInteger, nullable=False),
    Column("patient_owes_cents", BigInteger, nullable=False),
    Column("threshold_cents", BigInteger, nullable=False),
    Column("deductible_cents", BigInteger, nullable=False),
    Column("kx_denied", Boolean, nullable=False),
)
