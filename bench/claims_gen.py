"""Generated claims files in the batch CSV layout: one row per service line.

Patients keep their discipline, payer and locality; each starts with an evaluation and comes back
two or three times a week for timed treatment (minutes around the 8-minute rule boundaries, part
of them furnished by an assistant), with now and then a 59 modifier, a group session, a charge and
a year-to-date threshold amount from a ledger. Deterministic for a seed.

    python bench/claims_gen.py --visits 400 --clinic -o examples/clinic-month.csv
    python bench/claims_gen.py --visits 1000000 -o /tmp/visits-1m.csv   # two years, mixed
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

HEADER = ("visit_id", "patient_id", "date_of_service", "payer", "locality", "discipline",
          "ytd_threshold_pt_slp", "code", "minutes", "assistant_minutes", "modifiers",
          "charge")
EVALUATIONS = {"PT": ("97161", "97162", "97163"), "OT": ("97165", "97166", "97167"),
               "SLP": ("92523", "92522")}
TIMED = {"PT": ("97110", "97110", "97112", "97140", "97530", "97116", "97535", "97124"),
         "OT": ("97530", "97530", "97535", "97110", "97112", "97140"),
         "SLP": ()}
UNTIMED = {"PT": ("97150", "97012", "G0283"), "OT": ("97150", "G0283"),
           "SLP": ("92507", "92507", "92526")}
CHARGE = {"97110": "52.00", "97112": "55.00", "97140": "50.00", "97530": "58.00",
          "97116": "48.00", "97535": "54.00", "97124": "45.00", "97150": "30.00",
          "97012": "25.00", "G0283": "22.00", "92507": "120.00", "92526": "110.00",
          "92523": "260.00", "92522": "180.00"}
PAYERS = ("medicare", "medicare", "medicare", "commercial-cpt", "commercial-mppr")
CLINIC_LOCALITY = "01182-18"
LOCALITIES = ("national", "10112-00", "01182-18", "13282-99", "02102-01", "05441-99")


def _minutes(rng: random.Random) -> int:
    # a third of services land a minute or two past a boundary (8, 23, 38), as notes often do
    if rng.random() < 0.35:
        return rng.choice((8, 9, 23, 24, 38))
    return rng.randint(8, 40)


def generate(visits: int, seed: int = 13, clinic: bool = False,
             start: date = date(2024, 1, 1), days: int = 730,
             plain: bool = False) -> Iterator[tuple[str, ...]]:
    """Rows (in HEADER order) of about ``visits`` visits: ``clinic`` is one clinic's month
    (one locality, one month), otherwise two years over several localities. ``plain``: the
    common visit only (Medicare, priced localities, no assistant, no modifier, no group
    session), the visits the columnar path of the batch is built for."""
    rng = random.Random(seed)
    if clinic:
        start, days = date(2025, 3, 3), 28
    made = 0
    patient = 0
    while made < visits:
        patient += 1
        pid = f"P{patient:06d}"
        discipline = rng.choices(("PT", "OT", "SLP"), (7, 2, 1))[0]
        payer = "medicare" if plain else rng.choice(PAYERS)
        locality = CLINIC_LOCALITY if clinic else rng.choice(
            LOCALITIES[:-1] if plain else LOCALITIES)
        count = min(visits - made, rng.randint(3, 12))
        day = start + timedelta(days=rng.randint(0, max(0, days - 30)))
        ledger = ""
        if payer == "medicare" and discipline != "OT" and rng.random() < 0.15:
            ledger = rng.choice(("1800.00", "2200.00", "2350.00"))
        assistant = not plain and rng.random() < 0.35
        for index in range(count):
            made += 1
            visit_id = f"V{made:07d}"
            lines: list[tuple[str, str, str, str]] = []  # code, minutes, assistant, modifiers
            if index == 0:
                lines.append((rng.choice(EVALUATIONS[discipline]), "", "", ""))
            if discipline == "SLP":
                lines.append((rng.choice(UNTIMED["SLP"]), "", "", ""))
            else:
                for code in rng.sample(TIMED[discipline], rng.choice((1, 2, 2, 3, 3, 3))):
                    minutes = _minutes(rng)
                    helped = rng.randint(0, minutes) if assistant and rng.random() < 0.6 else 0
                    modifiers = "59" if code == "97140" and rng.random() < 0.3 and not plain \
                        else ""
                    lines.append((code, str(minutes), str(helped) if helped else "", modifiers))
                if index and rng.random() < 0.3:
                    untimed = [c for c in UNTIMED[discipline] if not plain or c != "97150"]
                    lines.append((rng.choice(untimed), "", "", ""))
            for code, minutes, helped, modifiers in lines:
                yield (visit_id, pid, day.isoformat(), payer, locality, discipline,
                       ledger if index == 0 else "", code, minutes, helped, modifiers,
                       CHARGE.get(code, "60.00") if rng.random() < 0.7 else "")
            day += timedelta(days=rng.choice((2, 2, 3, 4, 7)))
            if day >= start + timedelta(days=days):
                break


def write(path: Path, visits: int, seed: int = 13, clinic: bool = False,
          plain: bool = False) -> int:
    """Write a generated file; returns the number of rows."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(HEADER)
        for row in generate(visits, seed, clinic, plain=plain):
            out.writerow(row)
            rows += 1
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=400)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--clinic", action="store_true", help="one clinic's month")
    parser.add_argument("--plain", action="store_true",
                        help="common Medicare visits only (the batch's columnar path)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    rows = write(args.output, args.visits, args.seed, args.clinic, args.plain)
    print(f"{rows:,} rows written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
