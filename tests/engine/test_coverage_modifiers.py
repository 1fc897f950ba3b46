"""Coverage (RVU status, catalogue facts, payer rules, who furnished it) and GP/GO/GN modifiers."""

from __future__ import annotations

import pytest

from .helpers import check, finding, findings, has_words, ln, one, step

# --- Medicare status and coverage ----------------------------------------------------------------


def test_97014_is_invalid_for_medicare_and_names_g0283() -> None:
    result = check(ln("97014"))
    line = one(result, "97014")
    assert (line.status, line.units) == ("invalid", 0)
    decision = step(line, "coverage.medicare")
    assert has_words(decision.message, "status I", "not valid", "G0283")
    assert "RVU" in decision.source
    assert finding(result, "coverage.medicare").severity == "error"


def test_97010_is_bundled() -> None:
    result = check(ln("97010"), ln("97110", 20))
    packs = one(result, "97010")
    assert (packs.status, packs.units) == ("bundled", 0)
    assert has_words(step(packs, "coverage.medicare").message, "status B", "bundled")
    assert one(result, "97110").status == "payable"
    assert result.totals.units == 1


def test_dry_needling_is_not_covered_for_a_therapist() -> None:
    result = check(ln("20560"))
    line = one(result, "20560")
    assert line.status == "non_covered"
    assert has_words(step(line, "coverage.medicare").message, "not payable to therapists")


def test_athletic_training_evaluation_is_not_payable() -> None:
    result = check(ln("97169"))
    line = one(result, "97169")
    assert line.status == "non_covered"
    assert line.units == 0
    assert has_words(step(line, "coverage.medicare").message, "status N", "athletic")


def test_massage_therapist_not_covered_by_medicare() -> None:
    result = check(ln("97124", 20, performed_by="massage_therapist"))
    line = one(result, "97124")
    assert line.status == "non_covered"
    decision = step(line, "coverage.performer")
    assert has_words(decision.message, "massage therapist", "not therapy")
    assert "§230.1" in decision.source
    assert finding(result, "coverage.performer").codes == ("97124",)


def test_massage_therapist_payable_under_commercial_cpt_for_97124_only() -> None:
    massage = check(ln("97124", 20, performed_by="massage_therapist"), payer="commercial-cpt")
    line = one(massage, "97124")
    assert (line.status, line.units, line.modifiers) == ("payable", 1, ["GP"])
    exercise = check(ln("97110", 20, performed_by="massage_therapist"), payer="commercial-cpt")
    line = one(exercise, "97110")
    assert line.status == "non_covered"
    assert has_words(step(line, "coverage.performer").message, "does not credential")


def test_aide_is_not_covered() -> None:
    result = check(ln("97110", 20, performed_by="aide"))
    line = one(result, "97110")
    assert line.status == "non_covered"
    assert has_words(step(line, "coverage.performer").message, "an aide")


def test_non_covered_minutes_do_not_earn_other_codes_units() -> None:
    # the aide's 20 minutes are not therapy: 97140's 7 minutes stay below a unit
    result = check(ln("97110", 20, performed_by="aide"), ln("97140", 7))
    assert one(result, "97140").status == "not_billable"


def test_commercial_mppr_wants_g0283_for_97014() -> None:
    result = check(ln("97014"), payer="commercial-mppr")
    line = one(result, "97014")
    assert line.status == "invalid"
    assert has_words(step(line, "coverage.payer").message, "does not accept 97014", "G0283")


# --- evaluations ---------------------------------------------------------------------------------


def test_second_pt_evaluation_the_same_day_is_denied() -> None:
    result = check(ln("97161"), ln("97164"))
    assert one(result, "97161").status == "payable"
    second = one(result, "97164")
    assert (second.status, second.units) == ("denied", 1)
    assert has_words(step(second, "coverage.medicare").message, "only one PT evaluation",
                     "97161")


def test_denied_evaluation_still_gets_its_discipline_modifier() -> None:
    result = check(ln("97161"), ln("97162"))
    second = one(result, "97162")
    assert (second.status, second.modifiers) == ("denied", ["GP"])


def test_pt_and_ot_evaluations_the_same_day_are_both_payable() -> None:
    result = check(ln("97161"), ln("97165", discipline="OT"))
    pt, ot = one(result, "97161"), one(result, "97165")
    assert (pt.status, pt.modifiers) == ("payable", ["GP"])
    assert (ot.status, ot.modifiers) == ("payable", ["GO"])


def test_slp_evaluation_with_its_add_on_is_one_evaluation() -> None:
    result = check(ln("92607", 60), ln("92608", 30), discipline="SLP")
    assert one(result, "92607").status == "payable"
    assert one(result, "92608").status == "payable"
    assert one(result, "92608").units >= 1


def test_pt_evaluation_billed_under_ot_is_invalid() -> None:
    result = check(ln("97161", discipline="OT"), ln("97165"), discipline="OT")
    wrong = one(result, "97161")
    assert (wrong.status, wrong.units) == ("invalid", 0)
    refused = step(wrong, "modifier.discipline")
    assert refused.severity == "error"
    assert has_words(refused.message, "evaluation of the PT", "cannot be billed under OT",
                     "97165, 97166, 97167, 97168")  # the codes that would fit
    assert one(result, "97165").status == "payable"  # not taken for a second OT evaluation


def test_pt_evaluation_in_an_ot_visit_is_not_switched_to_gp() -> None:
    result = check(ln("97162"), discipline="OT")
    line = one(result, "97162")
    assert (line.status, line.discipline, line.allowed) == ("invalid", "OT", 0)
    assert "GP" not in line.modifiers
    assert finding(result, "modifier.discipline").severity == "error"


def test_slp_evaluation_needs_the_slp_plan_of_care() -> None:
    result = check(ln("92521"))  # visit discipline defaults to PT
    line = one(result, "92521")
    assert line.status == "invalid"
    assert has_words(step(line, "modifier.discipline").message, "92521",
                     "cannot be billed under PT", "97161")
    slp = check(ln("92521"), discipline="SLP")
    assert (one(slp, "92521").status, one(slp, "92521").modifiers) == ("payable", ["GN"])


# --- discipline modifiers -------------------------------------------------------------------------


def test_gp_added_with_a_warning_when_missing() -> None:
    result = check(ln("97110", 20))
    line = one(result, "97110")
    assert line.modifiers == ["GP"]
    added = step(line, "modifier.discipline")
    assert added.severity == "warning"
    assert has_words(added.message, "GP added", "PT plan")
    assert findings(result, "modifier.discipline")


def test_gp_kept_quietly_when_present() -> None:
    result = check(ln("97110", 20, modifiers=["GP"]))
    assert step(one(result, "97110"), "modifier.discipline").severity == "info"
    assert not findings(result, "modifier.discipline")


def test_go_on_a_pt_line_is_an_error_not_a_correction() -> None:
    result = check(ln("97110", 20, modifiers=["GO", "59"], discipline="PT"),
                   ln("97140", 15))
    line = one(result, "97110")
    assert (line.status, line.units, line.modifiers) == ("invalid", 0, ["GO", "59"])
    refused = step(line, "modifier.discipline")
    assert refused.severity == "error"
    assert has_words(refused.message, "GO", "OT plan of care", "PT plan of care", "GP")
    errors = [f for f in findings(result, "modifier.discipline") if f.severity == "error"]
    assert [f.codes for f in errors] == [("97110",)]
    assert one(result, "97140").status == "payable"  # the rest of the visit is still checked


def test_go_on_a_line_of_a_pt_visit_does_not_move_it_to_ot() -> None:
    result = check(ln("97110", 20, modifiers=["GO"]))  # the visit's discipline: PT
    line = one(result, "97110")
    assert (line.status, line.discipline) == ("invalid", "PT")
    assert result.totals.allowed is None or result.totals.allowed == 0


def test_two_discipline_modifiers_on_one_line_are_an_error() -> None:
    result = check(ln("97110", 20, modifiers=["GO", "GP"]))
    line = one(result, "97110")
    assert line.status == "invalid"
    assert has_words(step(line, "modifier.discipline").message, "GO and GP",
                     "one discipline modifier")


def test_co_on_a_pt_line_is_only_completed() -> None:
    # Corrections that only complete the claim stay warnings: CO becomes CQ on a PT line.
    result = check(ln("97110", 30, modifiers=["CO"], assistant_minutes=30))
    line = one(result, "97110")
    assert line.status == "payable"
    assert "CO" not in line.modifiers and "GP" in line.modifiers


@pytest.mark.parametrize(("code", "discipline", "modifier"),
                         [("97110", "PT", "GP"), ("97530", "OT", "GO"), ("92507", "SLP", "GN")])
def test_each_discipline_gets_its_modifier(code: str, discipline: str, modifier: str) -> None:
    result = check(ln(code, 30), discipline=discipline)
    assert one(result, code).modifiers == [modifier]


def test_unknown_modifier_is_flagged() -> None:
    result = check(ln("97110", 20, modifiers=["GP", "ZZ"]))
    line = one(result, "97110")
    assert line.status == "payable"
    flagged = step(line, "modifier.unknown")
    assert flagged.severity == "warning"
    assert has_words(flagged.message, "ZZ", "not a modifier")
    assert finding(result, "modifier.unknown").codes == ("97110",)


# --- every billed service accounted for ---------------------------------------------------------


def test_two_evaluations_the_same_day_stay_two_lines() -> None:
    result = check(ln("97161"), ln("97161"))
    lines = [line for line in result.lines if line.code == "97161"]
    assert [(line.status, line.units) for line in lines] == [("payable", 1), ("denied", 1)]
    assert has_words(step(lines[1], "coverage.medicare").message, "only one PT evaluation")
    assert any(s.rule == "units.untimed" and s.severity == "warning" for s in lines[1].steps)


def test_an_untimed_code_billed_twice_meets_its_mue() -> None:
    result = check(ln("97012"), ln("97012"), ln("97110", 20))
    traction = [line for line in result.lines if line.code == "97012"]
    assert len(traction) == 2
    assert all(line.status == "denied" for line in traction)  # MUE 1 a day, MAI 3
    denials = findings(result, "ncci.mue")
    assert len(denials) == 2  # one a line
    assert all(has_words(f.message, "2 units of 97012", "MUE of 1") for f in denials)
