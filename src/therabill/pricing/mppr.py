"""Therapy multiple procedure payment reduction (CMS Pub 100-04 ch.5 §10.7).

Per patient and day, across disciplines, one unit — the one with the highest practice-expense
RVU — is paid in full; every other unit of a code with the therapy MPPR indicator (5) gets full
work and malpractice but a reduced share of PE. A tie on PE goes to the higher full amount.
Carrier-priced, bundled and add-on codes are outside the reduction.
"""

from __future__ import annotations

from decimal import Decimal

from therabill.reference.records import RvuRecord


def mppr_applies(rvu: RvuRecord | None) -> bool:
    return (rvu is not None and rvu.mult_proc == "5" and rvu.status in ("A", "R", "T")
            and rvu.global_days != "ZZZ")


def full_unit_owner(candidates: list[tuple[int, RvuRecord, Decimal, bool]]) -> int | None:
    """Index of the line whose first unit is paid in full.

    ``candidates``: (line index, RVU record, full per-unit amount, carries CQ/CO). Ranked by PE
    RVU, then the full amount; when a CQ line and a non-CQ line of one code still tie, the full
    unit goes to the line without the assistant modifier (CMS is silent; UNVERIFIED default).
    """
    best: tuple[Decimal, Decimal, int, int] | None = None
    owner = None
    for index, rvu, full, assistant in candidates:
        key = (rvu.pe_nonfacility, full, 0 if assistant else 1, -index)
        if best is None or key > best:
            best, owner = key, index
    return owner
