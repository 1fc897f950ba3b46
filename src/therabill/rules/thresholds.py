"""The therapy thresholds: KX and the targeted medical review amount (CMS Pub 100-04 ch.5 §10.3).

Allowed amounts of PT and SLP count together toward one yearly threshold, OT's toward another.
Once the year's amount passes the KX threshold, every further line needs KX (the documentation
shows medical necessity) or is denied. Which lines need KX is decided on everything billed,
whether or not it carries KX, so the advice settles in one pass: adding KX to exactly the lines
named leaves no threshold denial. A denied line adds nothing to the year.
"""

from __future__ import annotations

from decimal import Decimal

from therabill import sources
from therabill.decision import decide
from therabill.model import ThresholdToDate
from therabill.money import ZERO, usd
from therabill.reference.parameters import DatedValue
from therabill.vocabulary import THRESHOLD_GROUP
from therabill.worksheet import Worksheet

GROUP_LABEL = {"pt_slp": "PT and SLP combined", "ot": "OT"}
NOTHING_YET = ThresholdToDate(pt_slp=ZERO, ot=ZERO)


def apply_thresholds(sheet: Worksheet) -> None:
    """Runs between the allowed amounts and the payment split (so a denied line pays nothing)."""
    if not sheet.policy.kx_threshold or sheet.price_day is None:
        return
    kx, review = _thresholds(sheet)
    if kx is None:
        return
    dos, findings = sheet.dos, sheet.findings
    ytd = sheet.visit.ytd_threshold_amount or NOTHING_YET
    billed = {"pt_slp": ytd.pt_slp, "ot": ytd.ot}  # everything billed: who needs KX
    accrued = dict(billed)  # what the year really gains
    kx_source = f"{sources.CPM5_10_3}; {kx.source}"
    for line in sheet.lines:
        allowed = line.allowed
        if line.status != "payable" or allowed is None:
            continue
        group = THRESHOLD_GROUP[line.discipline]
        label = GROUP_LABEL[group]
        billed[group] += allowed
        if billed[group] > kx.value:
            if "KX" in line.modifiers:
                line.note("threshold.kx", f"{label} spending reaches {usd(billed[group])} this "
                          f"year, over the {usd(kx.value)} KX threshold of {dos.year}; KX "
                          "attests the service is medically necessary, so it is paid", kx.source)
            else:
                message = kx_denial(line.code, group, billed[group], dos.year, kx.value)
                line.stop("denied", "threshold.kx", message, kx_source)
                findings.append(decide("threshold.kx", message, kx_source, "error",
                                       (line.code,)))
                line.clear_money()
                line.threshold_amount = ZERO
                continue
        before = accrued[group]
        accrued[group] = after = before + allowed
        line.threshold_amount = allowed
        if review is not None and before <= review.value < after:
            message = (f"{label} spending passes the {usd(review.value)} targeted medical "
                       "review amount with this visit: the claim may be selected for review")
            source = f"{sources.CPM5_10_3_4}; {review.source}"
            line.note("threshold.review", message, source, "warning")
            findings.append(decide("threshold.review", message, source, "warning",
                                   (line.code,)))
    sheet.threshold_after = accrued


def kx_denial(code: str, group: str, billed: Decimal, year: int, kx: Decimal) -> str:
    """Why a line without KX is denied once its group's spending passes the threshold."""
    return (f"{code}: {GROUP_LABEL[group]} spending reaches {usd(billed)} this year, over the "
            f"{year} KX threshold of {usd(kx)}; without KX the line is denied (add KX when the "
            "documentation shows medical necessity)")


def _thresholds(sheet: Worksheet) -> tuple[DatedValue | None, DatedValue | None]:
    """The KX and review amounts in force on the date, looked up once a date."""
    memo = sheet.caches.memo("rules.thresholds.amounts")
    found: tuple[DatedValue | None, DatedValue | None] | None = memo.get(sheet.dos)
    if found is None:
        params = sheet.reference.parameters
        found = memo.put(sheet.dos, (params.at("kx_threshold", sheet.dos),
                                     params.at("targeted_review_threshold", sheet.dos)))
    return found
