"""Units for a visit's lines: the payer's unit method applied per plan of care (or pooled).

Timed 15-minute codes go through the CMS total-time method or the CPT per-code method; a
primary/add-on pair (97129 + 97130) counts as one service whose first unit goes to the primary;
hourly and other time-block codes count by their own block; untimed codes are one unit a day.
"""

from __future__ import annotations

from decimal import Decimal

from therabill import sources
from therabill.decision import Decision, decide
from therabill.memo import BoundedMemo
from therabill.rules.units import (
    TimedService,
    UnitAllocation,
    cms_total_time,
    cpt_per_code,
    primary_add_on_units,
    units_for_minutes,
)
from therabill.vocabulary import NO_MINUTES_BASES
from therabill.worksheet import WorkLine, Worksheet

ZERO = Decimal(0)
UNVERIFIED_ADD_ON = ("how MACs apply the time threshold to an add-on code is not settled in CMS "
                     "text (UNVERIFIED): the pair's minutes are pooled and the first block goes "
                     "to the primary code")


def units_step(sheet: Worksheet) -> None:
    """Units for every payable line by the payer's method; a line that earns none is taken off
    the claim with the reason."""
    policy = sheet.policy
    method = policy.unit_method
    sheet.findings.extend(assign_units(sheet.lines, method, policy.pool_disciplines,
                                       sheet.unit_values, sheet.caches.memo("rules.units.steps")))
    for line in sheet.lines:
        if line.billable and line.units == 0:
            line.stop("not_billable", "units." + method,
                      f"{line.code}: {line.minutes} minutes earn no unit on this day; document "
                      "the service, do not bill it", sources.CPM5_20_2, "info")


def assign_units(lines: list[WorkLine], method: str, pool_disciplines: bool,
                 unit_values: dict[str, Decimal], memo: BoundedMemo[Decision]
                 ) -> list[Decision]:
    """Set ``units`` on every payable line; return the visit-level unit findings."""
    findings: list[Decision] = []
    groups: dict[str, list[WorkLine]] = {}
    as_billed: list[str] = []
    for line in lines:
        if line.status != "payable":
            continue
        if line.minutes is None and line.billed_units is not None:
            # No minutes documented (an 837P carries units): the units billed stand, and the
            # 8-minute rule cannot be checked.
            line.units = line.billed_units
            line.note("units.billed", f"{line.billed_units} unit(s) as billed: no minutes were "
                      "given, so the time rule could not be checked against them",
                      sources.CPM5_20_2, "warning")
            as_billed.append(line.code)
            continue
        basis = line.basis
        if basis in NO_MINUTES_BASES:
            line.units = 1
            line.note("units.untimed",
                      f"{line.code} is not a timed code: 1 unit, whatever the minutes; its "
                      "minutes are not counted in the timed total", sources.CPM5_20_2)
            continue
        unit_minutes = line.unit_minutes
        if basis == "timed" and unit_minutes != 15:
            line.units = units_for_minutes(line.minutes or 0, unit_minutes)
            line.note("units.cpt_per_code" if method == "cpt_per_code" else
                      "units.cms_total_time",
                      f"{line.code} is counted in {unit_minutes}-minute units: "
                      f"{line.minutes} minutes → {line.units} unit(s) (a unit once the midpoint "
                      "is passed)", sources.CPM5_20_2)
            continue
        key: str = "all" if pool_disciplines else line.discipline
        group = groups.get(key)
        if group is None:
            groups[key] = [line]
        else:
            group.append(line)
    for key in sorted(groups):
        summary = _timed_group(key, groups[key], method, unit_values, memo)
        if summary is not None:
            findings.append(summary)
    if as_billed:
        findings.append(decide(
            "units.billed", f"no minutes were given for {', '.join(as_billed)}: the units are "
            "taken as billed and checked against the edits and the fee schedule, but the "
            "8-minute rule could not be applied", sources.CPM5_20_2, "warning",
            tuple(as_billed)))
    return findings


def _family_of(line: WorkLine) -> str:
    """Primary and add-on of a 15-minute pair are one service for counting units."""
    if line.basis == "timed_add_on" and line.info is not None:
        return line.info.time.primary or line.code
    return line.code


def _timed_group(key: str, members: list[WorkLine], method: str,
                 unit_values: dict[str, Decimal], memo: BoundedMemo[Decision]
                 ) -> Decision | None:
    """Units of one plan of care's timed services; the visit finding that sums them up."""
    families: dict[str, list[WorkLine]] = {}
    for member in members:
        family_code = _family_of(member)
        found = families.get(family_code)
        if found is None:
            families[family_code] = [member]
        else:
            found.append(member)
    services: list[TimedService] = []
    fifteen: dict[str, list[WorkLine]] = {}
    for code, family in families.items():
        if _block_minutes(family) != 15:
            _set_pair_units(family)  # hourly and other pairs: their own block
            continue
        fifteen[code] = family
        if len(family) == 1:
            line = family[0]
            services.append(TimedService(code, line.minutes or 0,
                                         (-unit_values.get(line.code, ZERO), code)))
        else:
            value = max(unit_values.get(line.code, ZERO) for line in family)
            services.append(TimedService(code, sum(line.minutes or 0 for line in family),
                                         (-value, code)))
    if not services:
        return None
    cms = method == "cms_total_time"
    allocation = cms_total_time(services) if cms else cpt_per_code(services)
    rule = "units.cms_total_time" if cms else "units.cpt_per_code"
    source = sources.CPM5_20_2 if cms else "CPT time rule (midpoint per code), payer policy"
    summary = decide(rule, _summary(allocation, method, "all disciplines" if key == "all"
                                    else key), source, codes=tuple(sorted(fifteen)))
    tied = {code for tie in allocation.ties for code in tie} if allocation.ties else ()
    for code, family in fifteen.items():
        units = allocation.units[code]
        _spread_family(family, units)
        for line in family:
            if code in tied:
                line.note(rule, _line_message(line, code, allocation, method, True), source)
                continue
            # Without a tie the step reads the same for every line with these figures.
            step_key = (method, line.code, code, line.minutes, units,
                        allocation.full_units.get(code, 0), code in allocation.extra_unit_codes)
            step = memo.get(step_key)
            if step is None:
                step = memo.put(step_key, decide(
                    rule, _line_message(line, code, allocation, method, False), source,
                    codes=(line.code,)))
            line.steps.append(step)
    return summary


def _block_minutes(family: list[WorkLine]) -> int:
    return family[0].unit_minutes


def _summary(allocation: UnitAllocation, method: str, scope: str) -> str:
    return units_summary(method, scope, allocation.total_minutes, allocation.total_units,
                         allocation.alternative)


def units_summary(method: str, scope: str, total_minutes: int, total_units: int,
                  alternative: dict[str, int] | None) -> str:
    """The visit finding that sums up a plan of care's timed units (``alternative``: the other
    compliant allocation of a tie)."""
    if method == "cms_total_time":
        text = (f"{total_minutes} timed minutes ({scope}) make {total_units} unit(s) under the "
                "8-minute rule; each code first gets its whole 15-minute units, the rest go to "
                "the codes with the most minutes left")
    else:
        text = (f"units counted per code ({scope}): each code's minutes give a unit at every "
                f"15 minutes and at 8 minutes past; {total_units} unit(s) in all")
    if alternative is not None:
        alt = ", ".join(f"{c} × {u}" for c, u in sorted(alternative.items()))
        text += (f". Tie on the remaining minutes: resolved by the higher-paying code, then "
                 f"code order; an equally compliant alternative is {alt}")
    return text


def _line_message(line: WorkLine, code: str, allocation: UnitAllocation, method: str,
                  tied: bool) -> str:
    units = allocation.units.get(code, 0)
    if method == "cms_total_time":
        full = allocation.full_units.get(code, 0)
        extra = " + 1 unit from the remaining minutes" if code in allocation.extra_unit_codes \
            else ""
        text = (f"{line.minutes} minutes: {full} whole 15-minute unit(s){extra} → {units} "
                f"unit(s) for the {code} service")
    else:
        text = f"{line.minutes} minutes → {units} unit(s) by the CPT midpoint rule for {code}"
    if tied and allocation.alternative is not None:
        # CMS leaves equal-time choices to the professional: show the other compliant split.
        other = ", ".join(f"{c} × {u}" for c, u in sorted(allocation.alternative.items()))
        text += (f"; it tied with another code for a remaining unit, resolved by the "
                 f"higher-paying code then code order (alternative allocation: {other})")
    return text


def _spread_family(family: list[WorkLine], units: int) -> None:
    """Give a pair's units to its lines: the first to the primary, the rest to the add-on."""
    if len(family) == 1 and family[0].info is not None \
            and family[0].basis not in ("timed_primary", "timed_add_on"):
        family[0].units = units
        return
    primary = [ln for ln in family if ln.info and ln.basis == "timed_primary"]
    add_on = [ln for ln in family if ln.info and ln.basis == "timed_add_on"]
    if primary:
        head = primary[0]
        head.units = min(units, 1)
        rest = units - head.units
        if add_on:
            add_on[0].units = rest
        elif rest and head.info is not None:  # always set: only lines with info were kept
            head.note("units.cms_total_time",
                      f"{rest} more unit(s) belong on the add-on code "
                      f"{head.info.time.add_on}; add that line", sources.CPM5_20_2, "warning")
        head.note("units.cms_total_time", UNVERIFIED_ADD_ON, sources.CPM5_20_2)
    elif add_on:
        tail = add_on[0]
        tail.units = units
        if tail.info is not None:  # always set: only lines with info were kept
            tail.note("units.cms_total_time",
                      f"{tail.code} is an add-on: bill it only with its primary code "
                      f"{tail.info.time.primary}", sources.CPM5_20_2, "warning")


def _set_pair_units(family: list[WorkLine]) -> None:
    """Hourly and other pairs (97545 + 97546, 96112 + 96113): the pair's pooled minutes."""
    primary = next((ln for ln in family if ln.info and ln.info.time.basis == "timed_primary"),
                   None)
    add_on = next((ln for ln in family if ln.info and ln.info.time.basis == "timed_add_on"),
                  None)
    minutes = sum(ln.minutes or 0 for ln in family)
    if primary is not None and primary.info is not None:
        add_on_code = primary.info.time.add_on
        add_on_minutes = add_on.info.time.unit_minutes if add_on and add_on.info else 60
        first, more = primary_add_on_units(minutes, primary.info.time.unit_minutes or 60,
                                           add_on_minutes or 60)
        primary.units = first
        primary.note("units.cms_total_time",
                     f"{minutes} minutes of the {primary.code}/{add_on_code} pair → {first} + "
                     f"{more} unit(s); {UNVERIFIED_ADD_ON}", sources.CPM5_20_2)
        if add_on is not None:
            add_on.units = more
        elif more:
            primary.note("units.cms_total_time",
                         f"{more} unit(s) belong on the add-on code {add_on_code}; add that line",
                         sources.CPM5_20_2, "warning")
    elif add_on is not None and add_on.info is not None:
        add_on.units = units_for_minutes(minutes, add_on.info.time.unit_minutes or 60)
        add_on.note("units.cms_total_time",
                    f"{add_on.code} is an add-on: bill it only with its primary code "
                    f"{add_on.info.time.primary}", sources.CPM5_20_2, "warning")
