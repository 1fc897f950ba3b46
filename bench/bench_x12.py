"""Read speed of the 837P reader: claims a second, reading alone and reading plus checking.

    .venv/bin/python bench/bench_x12.py [--claims 2000] [--repeat 3]

Generates a 005010X222A1 file of therapy claims (made-up patients, several payers, one to three
dates a claim, two to four lines a date), then times ``read_837p`` over it, with the map
validation (pyx12) and without it (envelope only), alone and followed by ``Engine.check`` on
each visit. Best of ``--repeat`` runs in this process, as CPU time of this process (steadier on
a shared machine) and wall-clock time; the load average is printed beside them. Until the
engine takes billed ``units`` on a line, the check step gets each line's units as minutes
(units x 15), which costs the engine about the same work."""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Codes with their GP/GO/GN modifier, a charge a unit, and how many units a date may carry.
_THERAPY = [("97110", "GP", "45.00", 4), ("97112", "GP", "48.00", 2), ("97140", "GP", "42.00", 2),
            ("97530", "GO", "50.00", 3), ("97535", "GO", "47.00", 2), ("92507", "GN", "110.00", 1),
            ("97116", "GP", "40.00", 2), ("97010", "GP", "12.00", 1)]
_PAYERS = [("MEDICARE PART B", "06102", "MB"), ("BLUE RIVER HEALTH", "BRH01", "CI"),
           ("LAKESIDE MUTUAL", "LKM22", "CI")]


def npi(base: str) -> str:
    """A ten-digit NPI with its check digit (Luhn over the 80840 prefix)."""
    digits = [int(d) for d in "80840" + base]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return base + str((10 - total % 10) % 10)


def envelope(body: list[str], control: int = 1, when: date = date(2025, 6, 30)) -> str:
    """ISA/GS/ST … SE/GE/IEA around the segments of one 837P transaction."""
    stamp = when.strftime("%Y%m%d")
    head = ["ST*837*0001*005010X222A1",
            f"BHT*0019*00*B{control:06d}*{stamp}*0930*CH",
            "NM1*41*2*RIVERBEND THERAPY GROUP*****46*RTG0001",
            "PER*IC*BILLING OFFICE*TE*5555550100",
            "NM1*40*2*DEMO CLEARINGHOUSE*****46*DEMOCH01",
            "HL*1**20*1",
            f"NM1*85*2*RIVERBEND THERAPY GROUP*****XX*{npi('123456789')}",
            "N3*100 RIVER ROAD", "N4*SPRINGFIELD*IL*627040001", "REF*EI*371234567"]
    segments = head + body
    segments.append(f"SE*{len(segments) + 1}*0001")
    isa = (f"ISA*00*          *00*          *ZZ*{'RIVERBEND':<15}*ZZ*{'DEMOCH01':<15}*"
           f"{when.strftime('%y%m%d')}*0930*^*00501*{control:09d}*0*T*:")
    gs = f"GS*HC*RIVERBEND*DEMOCH01*{stamp}*0930*{control}*X*005010X222A1"
    tail = [f"GE*1*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join([isa, gs, *segments, *tail]) + "~\n"


def subscriber(hl: int, person: dict[str, Any], payer: tuple[str, str, str],
               dependent: dict[str, Any] | None, claims: list[list[str]]) -> list[str]:
    """A 2000B loop (and a 2000C one for a dependent) with its claims' segments."""
    name, payer_id, filing = payer
    out = [f"HL*{hl}*1*22*{1 if dependent else 0}",
           f"SBR*P*{'' if dependent else '18'}*******{filing}",
           f"NM1*IL*1*{person['last']}*{person['first']}****MI*{person['member']}",
           f"N3*{person['street']}", "N4*SPRINGFIELD*IL*62704",
           f"DMG*D8*{person['dob']}*{person['sex']}",
           f"NM1*PR*2*{name}*****PI*{payer_id}"]
    if dependent:
        out += [f"HL*{hl + 1}*{hl}*23*0", "PAT*19",
                f"NM1*QC*1*{dependent['last']}*{dependent['first']}",
                f"N3*{person['street']}", "N4*SPRINGFIELD*IL*62704",
                f"DMG*D8*{dependent['dob']}*{dependent['sex']}"]
    for claim in claims:
        out += claim
    return out


def claim(claim_id: str, lines: Sequence[tuple[str, Sequence[str], str, int, date]],
          rendering: tuple[str, str, str] | None = None, diagnosis: str = "M5450") -> list[str]:
    """A 2300 loop: CLM, HI, an optional rendering provider, and one 2400 loop a line."""
    total = sum(float(charge) for _, _, charge, _, _ in lines)
    out = [f"CLM*{claim_id}*{total:.2f}***11:B:1*Y*A*Y*Y", f"HI*ABK:{diagnosis}"]
    if rendering:
        last, first, number = rendering
        out += [f"NM1*82*1*{last}*{first}****XX*{number}", "PRV*PE*PXC*225100000X"]
    for i, (code, modifiers, charge, units, day) in enumerate(lines, start=1):
        composite = ":".join(["HC", code, *modifiers])
        out += [f"LX*{i}", f"SV1*{composite}*{charge}*UN*{units}***1",
                f"DTP*472*D8*{day.strftime('%Y%m%d')}"]
    return out


def generate(claims: int, seed: int = 7) -> str:
    """A file of ``claims`` made-up therapy claims, one subscriber a claim, in one transaction."""
    rng = random.Random(seed)
    body: list[str] = []
    hl = 2
    start = date(2025, 1, 2)
    for n in range(claims):
        payer = _PAYERS[n % len(_PAYERS)]
        person = {"last": f"PATIENT{n:06d}", "first": "ALEX", "member": f"M{n:09d}",
                  "street": f"{n % 900 + 1} OAK STREET", "dob": "19500101", "sex": "F"}
        first_day = start + timedelta(days=rng.randrange(360))
        lines: list[tuple[str, Sequence[str], str, int, date]] = []
        for d in range(rng.choice((1, 1, 2, 3))):
            day = first_day + timedelta(days=2 * d)
            for code, modifier, price, most in rng.sample(_THERAPY, rng.randint(2, 4)):
                units = rng.randint(1, most)
                charge = f"{float(price) * units:.2f}"
                lines.append((code, (modifier,), charge, units, day))
        body += subscriber(hl, person, payer, None, [claim(f"C{n:08d}", lines)])
        hl += 1
    return envelope(body)


def _as_minutes(visit: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in visit["lines"]:
        line = dict(line)
        units = line.pop("units", None)
        if isinstance(units, int):
            line["minutes"] = units * 15
        lines.append(line)
    return {**visit, "lines": lines}


def _measure(path: Path, engine: Any, validate: bool, repeat: int,
             accepts_units: bool) -> dict[str, float | int]:
    """Best wall-clock and best CPU seconds of reading, and of reading and checking."""
    from therabill.batch.records import VisitRecord
    from therabill.batch.x12 import read_837p

    best = {"read_wall": float("inf"), "read_cpu": float("inf"),
            "check_wall": float("inf"), "check_cpu": float("inf")}
    visits = rejects = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        records = list(read_837p(path, validate=validate))
        best["read_wall"] = min(best["read_wall"], time.perf_counter() - wall)
        best["read_cpu"] = min(best["read_cpu"], time.process_time() - cpu)
        rejects = sum(1 for r in records if not isinstance(r, VisitRecord))
        wall, cpu = time.perf_counter(), time.process_time()
        visits = 0
        for record in read_837p(path, validate=validate):
            if isinstance(record, VisitRecord):
                engine.check(record.visit if accepts_units else _as_minutes(record.visit))
                visits += 1
        best["check_wall"] = min(best["check_wall"], time.perf_counter() - wall)
        best["check_cpu"] = min(best["check_cpu"], time.process_time() - cpu)
    return {**best, "visits": visits, "rejects": rejects}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import therabill
    from therabill.model import VisitLine

    engine = therabill.Engine()
    accepts_units = "units" in getattr(VisitLine, "__dataclass_fields__", {})
    engine.check({"visit_id": "warm", "date_of_service": "2025-03-04",
                  "lines": [{"code": "97110", "minutes": 38}]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.x12"
        path.write_text(generate(args.claims), encoding="ascii")
        print(f"{args.claims} claims, {path.stat().st_size / 1e6:.1f} MB, best of "
              f"{args.repeat}" + ("" if accepts_units else
                                  "; units given to the engine as minutes (units x 15)"))
        print(f"{'':22}{'read':>28}{'read + check':>34}")
        print(f"{'':22}{'claims/s CPU (wall)':>28}{'claims/s CPU (wall), visits/s':>34}")
        for validate in (True, False):
            m = _measure(path, engine, validate, args.repeat, accepts_units)
            n = args.claims
            label = "map-validated (pyx12)" if validate else "envelope only"
            print(f"{label:22}{n / m['read_cpu']:>18,.0f} ({n / m['read_wall']:,.0f})"
                  f"{n / m['check_cpu']:>20,.0f} ({n / m['check_wall']:,.0f}), "
                  f"{int(m['visits']) / m['check_cpu']:,.0f}"
                  f"   [{m['visits']} visits, {m['rejects']} rejects]")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
