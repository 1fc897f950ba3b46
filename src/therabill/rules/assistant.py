"""CQ/CO assistant modifiers: which units of a code a PTA/OTA furnished in whole or in part.

Pure functions, stdlib only. Sources: CMS Pub 100-04 ch.5 §20.1 (CQ = PT service furnished in whole
or in part by a PTA, CO = the same for an OTA); the 10% de minimis standard of the CY2020 PFS final
rule (84 FR 62702–62707), applied per billed unit for timed codes and to the whole service for
untimed codes; the final-unit rules of the CY2022 PFS final rule and CMS's page "Billing Examples
Using CQ/CO Modifiers" (PTA 23 + PT 13 min of 97110 → one unit with CQ, one without).

Minutes the therapist and assistant spend together count as the therapist's, so callers pass as
``assistant_minutes`` only what the assistant furnished without the therapist.

Decisions on points CMS text leaves open (UNVERIFIED; the engine labels them):
* Equal leftover minutes (both under the threshold) for the one remaining unit: the unit carries
  the modifier, because the assistant then furnished half its minutes, well above de minimis.
* Two remaining units where only one clinician's leftover reaches the threshold: that clinician
  bills one unit their way. The other unit must draw on the other clinician's leftover: if that
  is the assistant, it carries the modifier (unless within de minimis); if it is the therapist,
  the assistant furnished more of the leftover, so it carries the modifier too.
* Fewer units than the whole blocks (a cap upstream): blocks are dropped from the clinician who
  furnished fewer minutes first; on equal minutes the therapist's go first, keeping the modifier.
* More units than the minutes support (ceil(minutes / unit); e.g. an add-on line whose minutes were
  pooled on its primary line): the extra units carry the modifier when the assistant furnished
  over 10% of the code's minutes, else not.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["AssistantSplit", "split_timed_units", "split_untimed"]

_TENTH = Decimal("0.1")


class AssistantSplit:
    """One code's units split by modifier (a plain class: compiled, its __init__ is native)."""

    with_modifier: int  # units billed with CQ/CO
    without_modifier: int
    reason: str  # one short sentence for the claim explanation

    def __init__(self, with_modifier: int, without_modifier: int, reason: str) -> None:
        self.with_modifier = with_modifier
        self.without_modifier = without_modifier
        self.reason = reason

    def __repr__(self) -> str:
        return f"AssistantSplit({self.with_modifier}, {self.without_modifier}, {self.reason!r})"


def _check_de_minimis(de_minimis: Decimal) -> None:
    if not 0 <= de_minimis < 1:
        raise ValueError(f"de_minimis must be in [0, 1), got {de_minimis}")


def _above_de_minimis(assistant: int, total: int, de_minimis: Decimal) -> bool:
    # "In part" means the assistant furnished more than the de minimis share; the share is a
    # short decimal (0.1), so the product is exact.
    return assistant > de_minimis * total


def split_timed_units(
    units: int,
    minutes: int,
    assistant_minutes: int,
    unit_minutes: int = 15,
    de_minimis: Decimal = _TENTH,
) -> AssistantSplit:
    """Split ``units`` of one timed code into units with and without CQ/CO.

    ``minutes`` is the code's total minutes on the day, ``assistant_minutes`` the part the
    assistant furnished without the therapist; ``units`` is what the unit method allocated to
    the code (CMS total time or CPT per code), normally at most ceil(minutes / unit_minutes).

    1. Whole blocks go to whoever furnished them: assistant blocks carry the modifier, therapist
       blocks do not.
    2. The remaining units (0, 1 or 2) come from the leftover minutes (each clinician's
       minutes % unit_minutes). One unit: billed without the modifier if the therapist's own
       leftover reaches the threshold (8 of 15); otherwise it goes to whoever furnished more of
       the leftover, a tie counting as assistant involvement. Two units where both leftovers
       reach the threshold: one with and one without (CY2022 PFS final rule).
    3. A unit that would carry the modifier only because of leftover minutes is billed without it
       when the assistant's share of those minutes is within de minimis (≤ 10%).
    The result always sums to ``units``; see the module docstring for the unsettled cases.
    """
    if unit_minutes <= 0:
        raise ValueError(f"unit_minutes must be positive, got {unit_minutes}")
    if not 0 <= assistant_minutes <= minutes:
        raise ValueError(
            f"assistant_minutes must be between 0 and minutes ({minutes}), got {assistant_minutes}"
        )
    _check_de_minimis(de_minimis)
    if units < 0:
        raise ValueError(f"units must be >= 0, got {units}")
    if units == 0:
        return AssistantSplit(0, 0, "No units were billed for this code, so none carries CQ/CO.")
    therapist_minutes = minutes - assistant_minutes
    if assistant_minutes == 0:
        return AssistantSplit(
            0, units, "The therapist furnished every minute, so no unit carries CQ/CO."
        )
    if therapist_minutes == 0:
        return AssistantSplit(
            units, 0, "The assistant furnished every minute, so every unit carries CQ/CO."
        )

    supported = -(-minutes // unit_minutes)
    if units > supported:
        # Neither unit method gives a code more than ceil(m/u) units, but a line may carry units
        # whose minutes sit on another line (an add-on pooled with its primary). Those units have
        # no minutes of their own to split, so the whole service's de minimis test decides them.
        split = split_timed_units(supported, minutes, assistant_minutes, unit_minutes, de_minimis)
        excess = units - supported
        if _above_de_minimis(assistant_minutes, minutes, de_minimis):
            return AssistantSplit(
                split.with_modifier + excess, split.without_modifier,
                f"{split.reason[:-1]}; {excess} unit(s) beyond these {minutes} minutes carry "
                f"CQ/CO as the assistant furnished over the de minimis share of them.",
            )
        return AssistantSplit(
            split.with_modifier, split.without_modifier + excess,
            f"{split.reason[:-1]}; {excess} unit(s) beyond these {minutes} minutes have no "
            f"modifier as the assistant's share of them is within de minimis.",
        )

    a_full, a_left = assistant_minutes // unit_minutes, assistant_minutes % unit_minutes
    t_full, t_left = therapist_minutes // unit_minutes, therapist_minutes % unit_minutes
    remaining = units - a_full - t_full
    dropped = ""
    if remaining < 0:
        # The allocation allowed fewer units than the whole blocks: drop blocks from the clinician
        # with fewer minutes first, so the units left are the best supported ones.
        deficit = -remaining
        if assistant_minutes < therapist_minutes:
            take = min(deficit, a_full)
            a_full -= take
            t_full -= deficit - take
        else:
            take = min(deficit, t_full)
            t_full -= take
            a_full -= deficit - take
        remaining = 0
        dropped = "; blocks over the allocated units were dropped from the side with fewer minutes"

    head = (
        f"Whole {unit_minutes}-minute blocks go to whoever furnished them "
        f"({a_full} by the assistant with CQ/CO, {t_full} by the therapist without){dropped}"
    )
    with_mod = a_full
    without = t_full
    if remaining == 0:
        return AssistantSplit(with_mod, without, head + ".")

    # Threshold for a unit from leftover minutes: the midpoint passed (8 of 15).
    threshold = unit_minutes // 2 + 1
    leftover = a_left + t_left
    a_counts = _above_de_minimis(a_left, leftover, de_minimis)
    if remaining == 1:
        if t_left >= threshold:
            without += 1
            tail = (f"the last unit has no modifier because the therapist's own {t_left} leftover "
                    f"minutes reach {threshold}")
        elif a_left >= t_left and a_counts:
            with_mod += 1
            more = "more" if a_left > t_left else "half"
            tail = (f"the last unit carries CQ/CO because the assistant furnished {more} of its "
                    f"{leftover} leftover minutes ({a_left})")
        elif a_left >= t_left:
            without += 1
            tail = (f"the last unit has no modifier because the assistant's {a_left} of {leftover} "
                    f"leftover minutes are within de minimis")
        else:
            without += 1
            tail = (f"the last unit has no modifier because the therapist furnished more of its "
                    f"{leftover} leftover minutes ({t_left})")
    else:
        # remaining == 2: ceil(m/u) caps units, so this needs leftover >= u, hence both sides
        # have leftover minutes and at least one of them reaches the threshold.
        if a_left >= threshold and t_left >= threshold:
            with_mod += 1
            without += 1
            tail = (f"each clinician furnished at least {threshold} leftover minutes ({a_left} and "
                    f"{t_left}), so one of the last two units carries CQ/CO and one does not")
        elif t_left >= threshold:
            without += 1
            if a_counts:
                with_mod += 1
                tail = (f"the therapist's {t_left} leftover minutes support one unit without a "
                        f"modifier and the other unit draws on the assistant's {a_left}, so it "
                        f"carries CQ/CO")
            else:
                without += 1
                tail = (f"the therapist's {t_left} leftover minutes support one unit and the "
                        f"assistant's {a_left} are within de minimis, so neither last unit "
                        f"carries CQ/CO")
        else:
            with_mod += 2
            tail = (f"the assistant furnished more of the leftover minutes ({a_left} of "
                    f"{leftover}) and the therapist's {t_left} do not reach {threshold}, so both "
                    f"last units carry CQ/CO")
    return AssistantSplit(with_mod, without, f"{head}; {tail}.")


def split_untimed(
    minutes: int | None, assistant_minutes: int, de_minimis: Decimal = _TENTH
) -> AssistantSplit:
    """One unit of an untimed code; CQ/CO when the assistant furnished > 10% of its minutes.

    The de minimis test runs on the whole service's minutes (CY2020 PFS final rule). When the
    total minutes were not documented (``None``) but the assistant took part, the share cannot be
    shown to be de minimis, so the unit carries the modifier. Evaluations and re-evaluations,
    which only the therapist may furnish, are handled by the engine and never reach this.
    """
    _check_de_minimis(de_minimis)
    if assistant_minutes < 0:
        raise ValueError(f"assistant_minutes must be >= 0, got {assistant_minutes}")
    if minutes is not None and assistant_minutes > minutes:
        raise ValueError(
            f"assistant_minutes must not exceed minutes ({minutes}), got {assistant_minutes}"
        )
    if assistant_minutes == 0:
        return AssistantSplit(0, 1, "The therapist furnished the whole service, so no CQ/CO.")
    if minutes is None:
        return AssistantSplit(
            1, 0, "The assistant took part and total minutes were not documented, so CQ/CO applies."
        )
    if _above_de_minimis(assistant_minutes, minutes, de_minimis):
        return AssistantSplit(
            1, 0, f"The assistant furnished {assistant_minutes} of {minutes} minutes, over the "
            f"de minimis share, so CQ/CO applies."
        )
    return AssistantSplit(
        0, 1, f"The assistant furnished only {assistant_minutes} of {minutes} minutes, within the "
        f"de minimis share, so no CQ/CO."
    )
