"""Therapy multiple procedure payment reduction (CMS Pub 100-04 ch.5 §10.7).

Per patient and day, across disciplines, one unit — the one with the highest practice-expense
RVU — is paid in full; every other unit of a code with the therapy MPPR indicator (5) gets full
work and malpractice but a reduced share of PE. A tie on PE goes to the higher full amount.
Carrier-priced, bundled and add-on codes are outside the reduction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeGuard

from therabill.reference.records import RvuRecord


def mppr_applies(rvu: RvuRecord | None) -> TypeGuard[RvuRecord]:
    return (rvu is not None and rvu.mult_proc == "5" and rvu.status in ("A", "R", "T")
            and rvu.global_days != "ZZZ")


def full_unit_owner(candidates: list[tuple[int, RvuRecord, Decimal, bool, str]]) -> int | None:
    """Index of the line whose first unit is paid in full.

    ``candidates``: (line index, RVU record, full per-unit amount, carries CQ/CO, discipline).
    Ranked by PE RVU, then the full amount (CMS Pub 100-04 ch.5 §10.7). Past that CMS is silent
    (UNVERIFIED default): a line without CQ/CO before one with it, then the lower code, then the
    discipline — never the order the lines were entered in.
    """
    owner = None
    best_pe = best_full = Decimal(0)
    best_rest: tuple[bool, str, str] = (False, "", "")
    for index, rvu, full, assistant, discipline in candidates:
        pe = rvu.pe_nonfacility
        rest = (assistant, rvu.code, discipline)
        # Higher PE wins, then the higher full amount, then the smaller (CQ/CO, code, discipline).
        if owner is None or pe > best_pe or (pe == best_pe and (
                full > best_full or (full == best_full and rest < best_rest))):
            owner, best_pe, best_full, best_rest = index, pe, full, rest
    return owner
