"""The contract: what a visit looks like going in and what a checked claim looks like coming out.

The CLI, the Python API and the REST API all speak these models. Inputs are validated strictly
(unknown fields are errors, so a typo never passes silently); results are built by the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

from therabill.decision import Decision
from therabill.money import whole_cents
from therabill.vocabulary import Discipline, Performer

PerformedBy = Performer
ClaimType = Literal["professional", "institutional"]
ProviderType = Literal[
    "private_practice", "physician_office", "hospital_outpatient", "snf", "rehab_agency", "corf",
    "hha", "cah",
]
LineStatus = Literal["payable", "denied", "not_billable", "bundled", "non_covered", "invalid"]
UnitMethod = Literal["cms_total_time", "cpt_per_code"]


# Codes and modifiers are checked in pydantic's core (fast, and friendly messages are given by
# therabill.intake): five or two letters or digits, blanks trimmed, upper-cased.
HcpcsCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                             pattern=r"^\s*[0-9A-Za-z]{5}\s*$")]
Modifier = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                            pattern=r"^\s*[0-9A-Za-z]{2}\s*$")]
# An amount of money as entered: not negative, whole cents (checked by a compiled function:
# pydantic's own decimal_places check costs more than the rest of a visit's validation).
# At most money.MAX_AMOUNT; non-finite and exponent-heavy numbers are refused before any
# arithmetic (see money.whole_cents).
Amount = Annotated[Decimal, Field(ge=0), AfterValidator(whole_cents)]


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1: a flag is never a count of minutes.
    if isinstance(value, bool):
        raise ValueError("a whole number is expected, not true or false")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # A date is written YYYY-MM-DD; numbers (read as Unix timestamps by pydantic) and date-times
    # are refused. Python callers may pass a date.
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("a date is written YYYY-MM-DD, like 2025-03-04")
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date is written as a string YYYY-MM-DD, like 2025-03-04")


Minutes = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=24 * 60)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# Free-text identifiers are echoed in results and messages: kept to a sane length.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=100)]


# Inputs are pydantic dataclasses (frozen, with slots): validated like models, and their fields
# read as plain slots, which the engine does dozens of times a visit (a BaseModel's attribute
# reads go through its __getattr__ hook and cost several times more).
_INPUT = ConfigDict(extra="forbid")


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=_INPUT)
class ThresholdToDate:
    """Allowed amounts already counted toward this year's therapy thresholds before this visit."""

    pt_slp: Amount = Decimal(0)
    ot: Amount = Decimal(0)


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=_INPUT)
class VisitLine:
    """One documented service: code, minutes, who furnished it, what the biller entered."""

    code: HcpcsCode
    minutes: Minutes | None = None
    assistant_minutes: Minutes = 0
    # Units as billed, for claims that carry no minutes (an 837P): used only when minutes are
    # absent, and then the 8-minute rule cannot be checked.
    units: int | None = Field(default=None, ge=1, le=999, strict=True)
    discipline: Discipline | None = None
    modifiers: tuple[Modifier, ...] = ()
    charge: Amount | None = None
    performed_by: PerformedBy = "therapist"


@pydantic_dataclass(frozen=True, slots=True, kw_only=True, config=_INPUT)
class Visit:
    """One patient, one date of service, one billing provider.

    Build one with ``Visit(**fields)`` or ``VISIT_ADAPTER.validate_python(data)``; either
    validates, nested lines included."""

    visit_id: Identifier
    patient_id: Identifier | None = None
    date_of_service: IsoDate
    payer: ShortText = "medicare"
    locality: ShortText = "national"
    claim_type: ClaimType = "professional"
    provider_type: ProviderType = "private_practice"
    discipline: Discipline = "PT"
    qualifying_apm: bool = False
    # Not given: the deductible is taken as met and no earlier spending is counted, and the
    # result says so (an ``input.assumed`` finding).
    deductible_remaining: Amount | None = None
    ytd_threshold_amount: ThresholdToDate | None = None
    # What the note documents (CMS Pub 100-02 ch.15 §220.3): checked against the lines.
    documented_timed_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    documented_total_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    documented_untimed_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    lines: tuple[VisitLine, ...] = ()


VISIT_ADAPTER: TypeAdapter[Visit] = TypeAdapter(Visit)
LINE_ADAPTER: TypeAdapter[VisitLine] = TypeAdapter(VisitLine)


# How results hold a decision: serialised as {rule, severity, message, source, codes}.
DecisionField = Annotated[Decision, PlainSerializer(lambda d: d._asdict(), return_type=dict)]

# Results are plain dataclasses: the engine builds them millions of times in batch work, and
# RESULT_ADAPTER serialises them (JSON for the CLI and the API) without re-validating.


@dataclass(slots=True)
class ClaimLine:
    """A line as it should be submitted, with the decisions that produced it.

    Its money (None when the line is not priced; zero when it is not paid) adds up two ways:
    ``fee_schedule_amount × units − mppr_reduction − charge_reduction = allowed`` and
    ``allowed = deductible + coinsurance + payer_paid + assistant_reduction + sequestration``,
    with ``patient_owes = deductible + coinsurance`` and ``reductions = assistant_reduction +
    sequestration``. ``threshold_amount`` is what the line adds toward the year's therapy
    threshold of its discipline group (PT and SLP together, OT apart), for payers that keep one.
    """

    code: str
    units: int
    modifiers: list[str]
    status: LineStatus
    discipline: Discipline | None = None
    minutes: int | None = None
    assistant_minutes: int = 0
    charge: Decimal | None = None
    fee_schedule_amount: Decimal | None = None  # per unit, in full
    mppr_reduction: Decimal | None = None
    charge_reduction: Decimal | None = None  # the charge was lower than the fee
    allowed: Decimal | None = None
    deductible: Decimal | None = None
    coinsurance: Decimal | None = None
    assistant_reduction: Decimal | None = None  # CQ/CO, taken from the payer's share
    sequestration: Decimal | None = None  # taken from the payer's share
    payer_paid: Decimal | None = None
    patient_owes: Decimal | None = None
    reductions: Decimal | None = None  # assistant_reduction + sequestration
    threshold_amount: Decimal | None = None
    steps: list[DecisionField] = field(default_factory=list)


# The money fields a claim line and the visit totals share, in order.
MONEY_FIELDS = ("mppr_reduction", "charge_reduction", "allowed", "deductible", "coinsurance",
                "assistant_reduction", "sequestration", "payer_paid", "patient_owes",
                "reductions", "threshold_amount")


@dataclass(slots=True)
class Totals:
    """The visit's payable units and its lines' money added up (None: no line was priced)."""

    units: int = 0
    mppr_reduction: Decimal | None = None
    charge_reduction: Decimal | None = None
    allowed: Decimal | None = None
    deductible: Decimal | None = None
    coinsurance: Decimal | None = None
    assistant_reduction: Decimal | None = None
    sequestration: Decimal | None = None
    payer_paid: Decimal | None = None
    patient_owes: Decimal | None = None
    reductions: Decimal | None = None
    threshold_amount: Decimal | None = None


@dataclass(slots=True)
class ThresholdYear:
    """The year's therapy threshold amounts after this visit (PT and SLP together, OT)."""

    pt_slp: Decimal
    ot: Decimal


@dataclass(slots=True)
class DataUsed:
    """The releases and parameter values a result rests on, so it can be reproduced."""

    releases: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CheckResult:
    visit_id: str
    patient_id: str | None
    date_of_service: date | None
    payer: str
    unit_method: UnitMethod | None = None
    lines: list[ClaimLine] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    findings: list[DecisionField] = field(default_factory=list)
    data: DataUsed = field(default_factory=DataUsed)
    threshold_to_date: ThresholdYear | None = None


RESULT_ADAPTER: TypeAdapter[CheckResult] = TypeAdapter(CheckResult)
