"""Every billed service accounted for, and every assumption said (issue: no silent answers)."""

from __future__ import annotations

import therabill

from .helpers import check, findings, has_words, ln, one, visit


def test_a_pair_in_the_ncci_table_is_named_even_when_another_rule_denied_the_line() -> None:
    result = check(ln("97161"), ln("97164"))
    second = one(result, "97164")
    assert second.status == "denied"
    rules = [s.rule for s in second.steps]
    assert "coverage.medicare" in rules  # one PT evaluation a day
    edit = next(s for s in second.steps if s.rule == "ncci.ptp")
    assert has_words(edit.message, "97161/97164", "modifier indicator 0")
    assert "PTP-v302r0" in edit.source
    assert findings(result, "ncci.ptp")


def test_a_visit_without_lines_says_so() -> None:
    result = check()
    assert [(f.rule, f.severity) for f in result.findings if f.rule == "input"] == [
        ("input", "warning")]
    assert has_words(findings(result, "input")[0].message, "no lines")


def test_a_repeated_visit_id_in_one_input_is_flagged_and_both_are_checked() -> None:
    engine = therabill.Engine()
    visits = [visit(ln("97110", 30)), visit(ln("97140", 30)),
              {**visit(ln("97112", 30)), "visit_id": "other"}]
    results = list(engine.check_many(visits))
    assert [len(r.lines) for r in results] == [1, 1, 1]
    flagged = [f for r in results for f in r.findings if "already used" in f.message]
    assert len(flagged) == 1 and flagged[0] in results[1].findings
    assert has_words(flagged[0].message, "visit 1")


def test_a_line_that_cannot_be_priced_says_why_on_the_line() -> None:
    result = check(ln("97110", 30), locality="99999-99")
    line = one(result, "97110")
    assert line.status == "payable" and line.allowed is None
    reason = next(s for s in line.steps if s.rule == "pricing.not_priced")
    assert reason.severity == "error" and has_words(reason.message, "99999-99")
    assert findings(result, "input")


def test_the_assumptions_are_stated_once() -> None:
    result = check(ln("97110", 30))
    assumed = findings(result, "input.assumed")
    assert len(assumed) == 1 and assumed[0].severity == "info"
    assert has_words(assumed[0].message, "deductible", "taken as already met",
                     "ytd_threshold_amount")
    given = check(ln("97110", 30), deductible_remaining="0",
                  ytd_threshold_amount={"pt_slp": "0", "ot": "0"})
    assert not findings(given, "input.assumed")
    # a payer without a deductible or a threshold assumes nothing about them
    cpt = check(ln("97110", 30), payer="commercial-cpt")
    assert all("ytd_threshold_amount" not in f.message for f in findings(cpt, "input.assumed"))
