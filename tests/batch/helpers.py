"""Helpers for the batch tests: write small claims files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]],
              delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    return path
