"""Small builders and look-ups shared by the engine tests (assert on rule ids, not prose)."""

from __future__ import annotations

from typing import Any

import therabill
from therabill.decision import Decision
from therabill.model import CheckResult, ClaimLine

DOS = "2025-03-04"


def ln(code: str, minutes: int | None = None, **fields: Any) -> dict[str, Any]:
    """One documented service, as a visit line dict."""
    line: dict[str, Any] = {"code": code}
    if minutes is not None:
        line["minutes"] = minutes
    line.update(fields)
    return line


def visit(*lines: dict[str, Any], dos: str = DOS, payer: str = "medicare",
          **fields: Any) -> dict[str, Any]:
    return {"visit_id": "test", "date_of_service": dos, "payer": payer, "lines": list(lines),
            **fields}


def check(*lines: dict[str, Any], dos: str = DOS, payer: str = "medicare",
          policies: Any = None, **fields: Any) -> CheckResult:
    options = {} if policies is None else {"policies": policies}
    return therabill.check(visit(*lines, dos=dos, payer=payer, **fields), **options)


def lines_of(result: CheckResult, code: str) -> list[ClaimLine]:
    return [line for line in result.lines if line.code == code]


def one(result: CheckResult, code: str) -> ClaimLine:
    found = lines_of(result, code)
    assert len(found) == 1, f"expected one {code} line, got {[_brief(x) for x in result.lines]}"
    return found[0]


def _brief(line: ClaimLine) -> tuple[Any, ...]:
    return (line.code, line.units, line.modifiers, line.status)


def units(result: CheckResult) -> dict[str, int]:
    """Units per code over the claim lines (split CQ/CO lines added up)."""
    out: dict[str, int] = {}
    for line in result.lines:
        out[line.code] = out.get(line.code, 0) + line.units
    return out


def rules(line: ClaimLine) -> list[str]:
    return [step.rule for step in line.steps]


def steps(line: ClaimLine, rule: str) -> list[Decision]:
    return [step for step in line.steps if step.rule == rule]


def step(line: ClaimLine, rule: str) -> Decision:
    found = steps(line, rule)
    assert found, f"{line.code}: no {rule} step in {rules(line)}"
    return found[0]


def findings(result: CheckResult, rule: str) -> list[Decision]:
    return [f for f in result.findings if f.rule == rule]


def finding(result: CheckResult, rule: str) -> Decision:
    found = findings(result, rule)
    assert len(found) == 1, f"expected one {rule} finding, got {[f.rule for f in result.findings]}"
    return found[0]


def has_words(text: str, *words: str) -> bool:
    lowered = text.lower()
    return all(word.lower() in lowered for word in words)
