"""The words of a therapy claim the rules share: each defined here once.

Plan-of-care (discipline) modifiers and assistant modifiers come from CMS Pub 100-04 ch.5 §20.1;
the NCCI-associated modifiers from the NCCI Policy Manual ch. I §E.
"""

from __future__ import annotations

from typing import Literal

Discipline = Literal["PT", "OT", "SLP"]
Performer = Literal["therapist", "massage_therapist", "aide", "athletic_trainer", "physician"]

DISCIPLINE_MODIFIER: dict[Discipline, str] = {"PT": "GP", "OT": "GO", "SLP": "GN"}
MODIFIER_DISCIPLINE: dict[str, Discipline] = {v: k for k, v in DISCIPLINE_MODIFIER.items()}
# There is no assistant modifier for speech-language pathology.
ASSISTANT_MODIFIER: dict[Discipline, str] = {"PT": "CQ", "OT": "CO"}
ASSISTANT_MODIFIERS = frozenset(ASSISTANT_MODIFIER.values())
NCCI_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})

# Time bases whose units do not come from minutes (one a day, or one per item).
NO_MINUTES_BASES = ("untimed", "per_item")

# The therapy threshold groups: PT and SLP count together, OT apart (CMS Pub 100-04 ch.5 §10.3).
ThresholdGroup = Literal["pt_slp", "ot"]
THRESHOLD_GROUP: dict[Discipline, ThresholdGroup] = {"PT": "pt_slp", "SLP": "pt_slp",
                                                      "OT": "ot"}


def has_assistant_modifier(modifiers: list[str]) -> bool:
    return any(m in ASSISTANT_MODIFIERS for m in modifiers) if modifiers else False
