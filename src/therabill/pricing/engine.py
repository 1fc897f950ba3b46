"""Price a visit's claim lines, explaining every figure.

Two steps in the engine's order, with the therapy threshold rule between them: ``price_lines``
(fee schedule amount per unit → MPPR across the visit → allowed, the lower of charge and fee)
and ``share_lines`` (deductible and coinsurance → CQ/CO reduction → sequestration). Commercial
payers follow their policy file: a percentage of Medicare's amount or their own fee table, with
or without MPPR, CQ reduction and sequestration. Every amount is also a field on the line, so a
ledger or a report can add them up.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVarTuple

from therabill import sources
from therabill.decision import Decision, decide
from therabill.memo import BoundedMemo
from therabill.model import DataUsed
from therabill.money import ZERO, cents, usd
from therabill.payers.policy import PayerPolicy
from therabill.pricing.context import PriceDay, SplitLine, policy_key, price_day, value_or
from therabill.pricing.fee_schedule import UnitPrice, arithmetic, payer_unit_price, unit_price
from therabill.pricing.mppr import full_unit_owner, mppr_applies
from therabill.pricing.patient_share import Share, split
from therabill.reference.records import RvuRecord
from therabill.vocabulary import has_assistant_modifier
from therabill.worksheet import WorkLine, Worksheet

ONE = Decimal(1)
HUNDRED = Decimal(100)
TWENTY_PERCENT = Decimal("0.20")  # Part B coinsurance when no dated value is loaded
Ts = TypeVarTuple("Ts")


def price_lines(sheet: Worksheet) -> None:
    """Unit prices, MPPR and the allowed amount of every line (or why there is none)."""
    visit, policy, findings = sheet.visit, sheet.policy, sheet.findings
    if policy.cah_reasonable_cost and visit.provider_type == "cah":
        findings.append(decide("pricing.not_priced", "critical access hospitals are paid "
                               "reasonable cost, not fee schedule amounts: no amount is "
                               "computed", sources.CPM5_10, "info"))
        return
    caches = sheet.caches
    day = price_day(sheet.reference, caches, sheet.dos, visit.locality, visit.qualifying_apm,
                    visit.claim_type == "institutional")
    if policy.pricing.basis != "fee_table" and day.problems:
        for problem in day.problems:
            rule = "input" if "locality" in problem else "data"
            findings.append(decide(rule, f"not priced: {problem}", "therabill reference data",
                                   "error"))
        why = "; ".join(day.problems)
        for line in sheet.lines:
            if line.billable:  # never a payable line with no amount and no reason
                line.note("pricing.not_priced", f"no amount: {why}",
                          "therabill reference data", "error")
        return
    sheet.price_day = day
    pkey = policy_key(policy, caches)  # memo keys: the policy object, not its id
    _record_data(day, policy, pkey, sheet.data, caches.memo("pricing.data"))
    price_memo = caches.memo("pricing.prices")
    lines = sheet.lines
    # Per line, in line order: the unit price (None when the line is not priced).
    prices: list[UnitPrice | None] = []
    for line in lines:
        if line.units == 0 and line.status != "payable":
            prices.append(None)
            continue
        price, steps = _priced(line, day, policy, pkey, price_memo)
        prices.append(price)
        line.steps.extend(steps)
        if price is None:
            # A payable line left without an amount is worth a finding, not only a step.
            for step in steps:
                if step.rule == "pricing.not_priced":
                    findings.append(step)
    fees = _apply_mppr(lines, prices, day, policy, pkey, policy.mppr_on(sheet.dos),
                       caches.memo("pricing.notes"))
    for index, line in enumerate(lines):
        _allowed(line, fees[index])


def share_lines(sheet: Worksheet) -> None:
    """Deductible, coinsurance, CQ/CO reduction and sequestration of every priced line."""
    day = sheet.price_day
    if day is None:
        return
    visit, policy = sheet.visit, sheet.policy
    pkey = policy_key(policy, sheet.caches)
    deductible_left = (visit.deductible_remaining or ZERO) if policy.pricing.deductible \
        else ZERO
    coinsurance = (policy.pricing.coinsurance if policy.pricing.coinsurance is not None
                   else value_or(day.coinsurance, TWENTY_PERCENT))
    sequestration = value_or(day.sequestration, ZERO) if policy.pricing.sequestration else ZERO
    assistant_rate = policy.assistant_rate_on(sheet.dos)  # None: Medicare's dated rate
    memo = sheet.caches.memo("pricing.shares")
    for line in sheet.lines:
        deductible_left = _share(line, deductible_left, coinsurance, sequestration, day, policy,
                                 pkey, memo, assistant_rate)


def _record_data(day: PriceDay, policy: PayerPolicy, pkey: int, data: DataUsed,
                 memo: BoundedMemo[DataUsed]) -> None:
    summary = memo.get((day.serial, pkey))
    if summary is None:
        summary = memo.put((day.serial, pkey), _data_summary(day, policy))
    data.releases.update(summary.releases)
    data.parameters.update(summary.parameters)
    data.notes.extend(summary.notes)


def _data_summary(day: PriceDay, policy: PayerPolicy) -> DataUsed:
    data = DataUsed()
    if day.conversion_factor is not None:
        cf = day.conversion_factor
        data.parameters["conversion_factor"] = f"{cf.value} from {cf.effective_from} ({cf.source})"
    if day.gpcis is not None:
        data.releases["gpci"] = day.gpci_release or "national"
        data.parameters["gpci"] = day.gpcis.label
        if day.gpcis.floor_note:
            data.notes.append(day.gpcis.floor_note)
    for name, value in (("mppr_pe_paid", day.pe_paid_share), ("sequestration", day.sequestration),
                        ("assistant_payment_rate", day.assistant_rate)):
        if value is not None:
            data.parameters[name] = f"{value.value} from {value.effective_from} ({value.source})"
    data.parameters["payer_pricing"] = f"{policy.pricing.basis} ({policy.pricing.source})"
    return data


def _priced(line: WorkLine, day: PriceDay, policy: PayerPolicy, pkey: int,
            memo: BoundedMemo[tuple[UnitPrice | None, tuple[Decision, ...]]]
            ) -> tuple[UnitPrice | None, tuple[Decision, ...]]:
    """A code's unit price and the steps that explain it: the same for every visit of the day."""
    # A PriceDay serves every day of a period, which may span two RVU releases: the record's
    # identity (held by the reference for its lifetime) keeps their prices apart.
    key = (day.serial, pkey, line.code, id(line.rvu))
    found = memo.get(key)
    if found is None:
        steps: list[Decision] = []
        price = _unit_price(line.code, line.rvu, day, policy, steps)
        if price is not None:
            _explain_price(line.code, line.rvu, price, day, policy, steps)
        found = memo.put(key, (price, tuple(steps)))
    return found


def unit_price_for(code: str, rvu: RvuRecord | None, day: PriceDay, policy: PayerPolicy,
                   why: list[Decision] | None = None) -> UnitPrice | None:
    """What ``policy`` pays a unit of ``code`` on ``day`` (None: not priced, with the reason
    the pricing step gives added to ``why``), the price the pricing step would use; for work
    outside the engine that needs the same figures."""
    return _unit_price(code, rvu, day, policy, [] if why is None else why)


def _unit_price(code: str, rvu: RvuRecord | None, day: PriceDay, policy: PayerPolicy,
                steps: list[Decision]) -> UnitPrice | None:
    """Per-unit amounts, or None with the reason in ``steps`` when the code is not priced."""
    pricing = policy.pricing
    if pricing.basis == "fee_table":
        if code not in pricing.fee_table:
            steps.append(decide("pricing.not_priced", f"{code} is not in {policy.name}'s fee "
                                "table: no amount computed", pricing.source, "warning",
                                (code,)))
            return None
        # Medicare's amounts only set the plan's MPPR share here: a code without RVUs is still
        # priced from the plan's table, so no "not priced" note.
        return payer_unit_price(pricing, code, _medicare_price(code, rvu, day, None))
    return payer_unit_price(pricing, code, _medicare_price(code, rvu, day, steps))


def _medicare_price(code: str, rvu: RvuRecord | None, day: PriceDay,
                    steps: list[Decision] | None) -> UnitPrice | None:
    """Medicare's per-unit amounts; without ``steps`` (a fee table's MPPR share) it says
    nothing when the code is not priced."""
    if rvu is None:
        if steps is not None:
            steps.append(decide("pricing.not_priced", f"{code} has no RVUs on this date: not "
                                "priced", sources.RVU_STATUS, "warning", (code,)))
        return None
    if rvu.status == "C":
        if steps is not None:
            steps.append(decide("pricing.not_priced", f"{code} is carrier-priced (status C): "
                                "the MAC sets its amount, so none is computed here",
                                sources.RVU_STATUS, "warning", (code,)))
        return None
    if rvu.status not in ("A", "R", "T"):
        return None
    if day.gpcis is None or day.conversion_factor is None:
        return None
    share = value_or(day.pe_paid_share, ONE)
    return unit_price(rvu, day.gpcis, day.conversion_factor.value, share)


def _apply_mppr(lines: list[WorkLine], prices: list[UnitPrice | None], day: PriceDay,
                policy: PayerPolicy, pkey: int, mppr: bool, notes: BoundedMemo[Decision]
                ) -> list[Decimal | None]:
    """Line fees after MPPR, in line order: one unit in the visit at full PE, every other
    eligible unit reduced. None for a line that is not priced or not paid."""
    fees: list[Decimal | None] = [None] * len(lines)
    use_mppr = mppr and day.pe_paid_share is not None
    candidates: list[tuple[int, RvuRecord, Decimal, bool, str]] = []
    if use_mppr:
        for index, line in enumerate(lines):
            price = prices[index]
            if price is None or line.status != "payable" or line.units == 0:
                continue
            if mppr_applies(line.rvu):
                candidates.append((index, line.rvu, price.full,
                                   has_assistant_modifier(line.modifiers), line.discipline))
    owner = full_unit_owner(candidates) if candidates else None
    eligible = {candidate[0] for candidate in candidates}
    share = value_or(day.pe_paid_share, ONE)
    mppr_source = policy.mppr_source(day.mppr_source)
    for index, line in enumerate(lines):
        price = prices[index]
        if price is None:
            continue
        line.fee_schedule_amount = price.full
        if line.status != "payable" or line.units == 0:
            continue
        if index not in eligible:
            fees[index] = _times(price.full, line.units)
            line.mppr_reduction = ZERO
            if not mppr:
                _memo_note(line, notes, ("no-mppr", pkey, line.code, line.units, price.full),
                           policy.pricing.source, _no_mppr_text, policy.name, line.units,
                           price.full)
            if use_mppr and len(candidates) and line.rvu is not None:
                _memo_note(line, notes, ("outside-mppr", mppr_source, line.code,
                                         line.rvu.mult_proc),
                           mppr_source, _outside_mppr_text, line.code, line.rvu.mult_proc)
            continue
        full_units = 1 if index == owner else 0
        reduced_units = line.units - full_units
        fee = fees[index] = (_times(price.reduced, reduced_units) if not full_units
                             else price.full + _times(price.reduced, reduced_units))
        line.mppr_reduction = _times(price.full, line.units) - fee
        _memo_note(line, notes, ("mppr", mppr_source, line.code, full_units, reduced_units,
                                 price.full, price.reduced),
                   mppr_source, _mppr_text, price, full_units, reduced_units, share)
    return fees


def _times(amount: Decimal, units: int) -> Decimal:
    """``amount × units``, without the multiplication for the usual one unit."""
    if units == 1:
        return amount
    return amount * units if units else ZERO


def _memo_note(line: WorkLine, notes: BoundedMemo[Decision], key: tuple[object, ...],
               source: str, text: Callable[[*Ts], str], *text_args: *Ts) -> None:
    """A pricing step that reads the same for every visit with these figures; its message,
    ``text(*text_args)``, is only written the first time."""
    decision = notes.get(key)
    if decision is None:
        decision = notes.put(key, decide("pricing.mppr", text(*text_args), source, "info",
                                         (line.code,)))
    line.steps.append(decision)


def _no_mppr_text(payer: str, units: int, full: Decimal) -> str:
    return (f"{payer} makes no multiple procedure reduction: {units} unit(s) × {usd(full)} = "
            f"{usd(full * units)}")


def _outside_mppr_text(code: str, mult_proc: str) -> str:
    return (f"{code} is outside the therapy MPPR (multiple procedure indicator {mult_proc}): "
            "paid in full")


def _mppr_text(price: UnitPrice, full_units: int, reduced_units: int, share: Decimal) -> str:
    pct = int((ONE - share) * HUNDRED)
    if full_units and reduced_units:
        return (f"first unit paid in full ({usd(price.full)}): highest practice expense of the "
                f"day; {reduced_units} more unit(s) at {usd(price.reduced)} with {pct}% less PE "
                f"(reduction {usd((price.full - price.reduced) * reduced_units)})")
    if full_units:
        return (f"paid in full ({usd(price.full)}): the unit with the highest practice expense "
                "of the day")
    return (f"{reduced_units} unit(s) at {usd(price.reduced)}: another service had the highest "
            f"practice expense, so PE is paid at {100 - pct}% (reduction "
            f"{usd((price.full - price.reduced) * reduced_units)})")


def _explain_price(code: str, rvu: RvuRecord | None, price: UnitPrice, day: PriceDay,
                   policy: PayerPolicy, steps: list[Decision]) -> None:
    codes = (code,)
    if policy.pricing.basis == "fee_table":
        steps.append(decide("pricing.payer", f"{usd(price.full)} a unit from {policy.name}'s "
                            "fee table", policy.pricing.source, "info", codes))
        return
    gpcis, cf = day.gpcis, day.conversion_factor
    if rvu is None or gpcis is None or cf is None:
        return
    full = unit_price(rvu, gpcis, cf.value, ONE).full
    text = (f"{arithmetic(rvu, gpcis, cf.value)} = {usd(full)} a unit (non-facility RVUs; "
            f"GPCIs {gpcis.label}; conversion factor {cf.value} "
            f"from {cf.effective_from})")
    if gpcis.floor_note:
        text += f"; {gpcis.floor_note}"
    steps.append(decide("pricing.fee_schedule", text, f"{sources.CPM12_FEE}; {cf.source}",
                        "info", codes))
    if policy.pricing.basis == "percent_of_medicare":
        steps.append(decide("pricing.payer", f"{policy.name} pays "
                            f"{policy.pricing.percent_of_medicare}% of Medicare's amount: "
                            f"{usd(price.full)} a unit", policy.pricing.source, "info", codes))


def _allowed(line: WorkLine, fee: Decimal | None) -> None:
    if fee is None:
        if line.status != "payable":
            line.clear_money()
        return
    # Unit prices are whole cents (UnitPrice is built from cents()), and so is any whole
    # multiple or sum of them: the fee needs no rounding here.
    charge = cents(line.charge) if line.charge is not None else None
    if charge is not None and charge < fee:
        line.allowed = charge
        line.charge_reduction = fee - charge
        line.note("pricing.charge", f"allowed {usd(line.allowed)}: the charge is lower than "
                  f"the fee schedule amount {usd(fee)}", sources.CPM5_10)
    else:
        line.allowed = fee
        line.charge_reduction = ZERO


def _share(line: WorkLine, deductible_left: Decimal, coinsurance: Decimal,
           sequestration: Decimal, day: PriceDay, policy: PayerPolicy, pkey: int,
           memo: BoundedMemo[SplitLine], assistant_rate: tuple[Decimal, str] | None
           ) -> Decimal:
    allowed = line.allowed
    if allowed is None:
        return deductible_left
    if line.status != "payable":
        line.clear_money()
        return deductible_left
    assistant = has_assistant_modifier(line.modifiers)
    # The same amounts split the same way on every visit of the period: work it out once.
    # Amounts enter the key as text: hashing a new Decimal costs about a microsecond (it works
    # out a modular power each time), its text a fifth of that, and text is exact too.
    # (No deductible left is one key, however the zero is written: 0 or 0.00.)
    key = (day.serial, pkey, line.code, str(allowed),
           str(deductible_left) if deductible_left else "", coinsurance, assistant,
           sequestration, assistant_rate)
    found = memo.get(key)
    if found is None:
        steps: list[Decision] = []
        share = _split_explained(line.code, allowed, assistant, deductible_left, coinsurance,
                                 sequestration, day, policy, assistant_rate, steps)
        found = memo.put(key, SplitLine(share.deductible, share.coinsurance,
                                        share.assistant_reduction, share.sequestration,
                                        share.payer_paid, tuple(steps)))
    line.deductible = found.deductible
    line.coinsurance = found.coinsurance
    line.assistant_reduction = found.assistant_reduction
    line.sequestration = found.sequestration
    line.payer_paid = found.payer_paid
    line.patient_owes = found.deductible + found.coinsurance
    line.reductions = found.assistant_reduction + found.sequestration
    line.steps.extend(found.steps)
    return deductible_left - found.deductible


def _split_explained(code: str, allowed: Decimal, assistant: bool, deductible_left: Decimal,
                     coinsurance: Decimal, sequestration: Decimal, day: PriceDay,
                     policy: PayerPolicy, payer_rate: tuple[Decimal, str] | None,
                     steps: list[Decision]) -> Share:
    codes = (code,)

    def note(rule: str, message: str, source: str) -> None:
        steps.append(decide(rule, message, source, "info", codes))

    rate = ONE
    if assistant and policy.pricing.assistant_reduction:
        rate = payer_rate[0] if payer_rate else value_or(day.assistant_rate, ONE)
    share = split(allowed, deductible_left, coinsurance, rate, sequestration)
    who = policy.who
    if share.deductible:
        note("pricing.deductible", f"{usd(share.deductible)} goes to the patient's deductible "
             "first", sources.CPM5_10_3)
    note("pricing.coinsurance", f"{who} pays {int((ONE - coinsurance) * HUNDRED)}% of "
         f"{usd(allowed - share.deductible)} = {usd(share.payer_before_reductions)}; "
         f"the patient owes {usd(share.coinsurance)} coinsurance", sources.CPM5_10_3
         if policy.pricing.coinsurance is None else policy.pricing.source)
    if assistant:
        if share.assistant_reduction:
            note("pricing.assistant", f"furnished in whole or part by an assistant: "
                 f"{who}'s payment cut by {usd(share.assistant_reduction)} "
                 f"({int((ONE - rate) * HUNDRED)}%), after MPPR and before sequestration",
                 payer_rate[1] if payer_rate else day.assistant_rate.source
                 if day.assistant_rate else sources.CPM5_20_1)
        elif payer_rate is not None and payer_rate[0] == ONE:
            note("pricing.assistant", f"CQ/CO paid in full on this date: {who}'s reduction "
                 "has not started", payer_rate[1])
        elif day.assistant_rate is not None and day.assistant_rate.value == ONE:
            note("pricing.assistant", "CQ/CO required but paid in full on this date (the "
                 "15% reduction starts 2022-01-01)", day.assistant_rate.source)
    if share.sequestration:
        note("pricing.sequestration", f"sequestration takes {usd(share.sequestration)} "
             f"({(sequestration * HUNDRED).normalize():f}%) from {who}'s payment, never "
             "from the patient",
             f"{sources.SEQUESTRATION}; "
             f"{day.sequestration.source if day.sequestration else ''}")
    elif policy.pricing.sequestration and day.sequestration is not None:
        if sequestration:  # in force, but there is (almost) nothing to take it from
            note("pricing.sequestration", f"sequestration "
                 f"({(sequestration * HUNDRED).normalize():f}%) of {who}'s payment of "
                 f"{usd(share.payer_before_reductions - share.assistant_reduction)} "
                 "comes to $0.00", f"{sources.SEQUESTRATION}; {day.sequestration.source}")
        else:
            note("pricing.sequestration", f"no sequestration on this date "
                 f"({day.sequestration.source})", sources.SEQUESTRATION)
    return share
