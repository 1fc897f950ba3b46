"""Real payers' published rules: each shipped file loads, and a visit exercising each known rule
comes out as the payer's source states, citing that source; unknown rules are reported."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import therabill
from therabill.decision import Decision
from therabill.model import CheckResult, ClaimLine
from therabill.money import cents
from therabill.payers.policy import (
    POLICY_DIR,
    RULE_NAMES,
    PolicyError,
    load_policies,
    load_policy,
)

REAL = ("unitedhealthcare-commercial", "aetna-commercial", "cigna-commercial",
        "anthem-commercial", "horizon-bcbsnj", "premera-blue-cross", "highmark-commercial",
        "tricare", "horizon-nj-health", "nevada-medicaid",
        "california-workers-comp", "texas-workers-comp")
POLICIES = load_policies(POLICY_DIR)


def check(payer: str, *lines: dict[str, Any], dos: str = "2025-06-02",
          **fields: Any) -> CheckResult:
    visit = {"visit_id": "p", "date_of_service": dos, "payer": payer,
             "locality": "01182-18", "lines": list(lines), **fields}
    return therabill.check(visit, policies=POLICIES)


def ln(code: str, minutes: int | None = None, **fields: Any) -> dict[str, Any]:
    return {"code": code, **({"minutes": minutes} if minutes is not None else {}), **fields}


def lines_of(result: CheckResult, code: str) -> list[ClaimLine]:
    return [line for line in result.lines if line.code == code]


def one(result: CheckResult, code: str) -> ClaimLine:
    found = lines_of(result, code)
    assert len(found) == 1, [(x.code, x.units, x.modifiers, x.status) for x in result.lines]
    return found[0]


def steps(line: ClaimLine, rule: str) -> list[Decision]:
    return [step for step in line.steps if step.rule == rule]


def findings(result: CheckResult, rule: str) -> list[Decision]:
    return [f for f in result.findings if f.rule == rule]


def units(result: CheckResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in result.lines:
        if line.status == "payable":
            out[line.code] = out.get(line.code, 0) + line.units
    return out


# ---------------------------------------------------------------------------- the files
@pytest.mark.parametrize("payer", REAL)
def test_each_real_payer_file_loads_with_dated_sourced_rules(payer: str) -> None:
    policy = load_policy(POLICY_DIR / f"{payer}.yaml")
    assert policy.rules is not None and policy.as_of is not None
    for name, rule in policy.rules.items():
        assert name in RULE_NAMES
        if rule.known:
            assert rule.source and rule.confidence in ("A", "B", "C"), name
        else:
            assert rule.note, name
    assert policy.pricing.stand_in, "fees are contract terms: the file says what stands in"


def _real(name: str) -> dict[str, Any]:
    body = yaml.safe_load((POLICY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(body, dict)
    return body


def _load(tmp_path: Path, body: dict[str, Any]) -> None:
    path = tmp_path / f"{body['id']}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    load_policy(path)


def test_a_missing_rule_is_an_error_never_a_default(tmp_path: Path) -> None:
    body = _real("cigna-commercial")
    del body["rules"]["mppr"]
    with pytest.raises(PolicyError, match=r"rules\.mppr: Field required"):
        _load(tmp_path, body)


def test_an_unknown_key_inside_a_rule_is_an_error(tmp_path: Path) -> None:
    body = _real("cigna-commercial")
    body["rules"]["daily_cap"]["unit"] = 4
    with pytest.raises(PolicyError, match=r"rules\.daily_cap\.unit: unknown key"):
        _load(tmp_path, body)


def test_a_known_value_needs_its_source_and_an_unknown_one_its_note(tmp_path: Path) -> None:
    body = _real("cigna-commercial")
    body["rules"]["daily_cap"]["source"] = ""
    with pytest.raises(PolicyError, match="needs its source and confidence"):
        _load(tmp_path, body)
    body = _real("cigna-commercial")
    body["rules"]["mppr"]["note"] = ""
    with pytest.raises(PolicyError, match="unknown rule needs a note"):
        _load(tmp_path, body)


def test_settings_must_agree_with_the_published_rules(tmp_path: Path) -> None:
    body = _real("texas-workers-comp") | {"unit_method": "cpt_per_code"}
    with pytest.raises(PolicyError, match=r"disagrees with rules\.unit_method"):
        _load(tmp_path, body)
    body = _real("aetna-commercial")
    body["pricing"]["assistant_reduction"] = False
    with pytest.raises(PolicyError, match=r"assistant_rate 0\.85 disagrees"):
        _load(tmp_path, body)
    body = _real("tricare")
    body["performers"].append({"performer": "massage_therapist", "source": "x"})
    with pytest.raises(PolicyError, match="massage_therapist"):
        _load(tmp_path, body)
    body = _real("anthem-commercial") | {"unit_cap": {"timed_units_per_day": 4, "source": "x"}}
    with pytest.raises(PolicyError, match=r"rules\.daily_cap"):
        _load(tmp_path, body)


# ------------------------------------------------------------------------ UnitedHealthcare
UHC_CCI = "COMM-CCI-Editing-Policy"


def test_uhc_denies_97124_with_97140_and_cites_its_cci_policy() -> None:
    result = check("unitedhealthcare-commercial", ln("97140", 23), ln("97124", 15))
    massage = one(result, "97124")
    assert massage.status == "denied"
    assert steps(massage, "ncci.ptp")
    assert UHC_CCI in steps(massage, "payer.ncci")[0].source


def test_uhc_counts_by_total_time_and_applies_its_mppr() -> None:
    result = check("unitedhealthcare-commercial", ln("97110", 10), ln("97112", 10))
    assert sum(units(result).values()) == 1  # 20 pooled minutes: one unit, not two
    assert all("Max-Combined-Frequency" in s.source for line in result.lines
               for s in steps(line, "payer.units"))
    result = check("unitedhealthcare-commercial", ln("97110", 30), ln("97140", 15))
    reduced = [s for line in result.lines for s in steps(line, "pricing.mppr")]
    assert reduced and all("Multiple Therapy Procedure Reduction" in s.source for s in reduced)
    fee = one(result, "97140").fee_schedule_amount
    assert fee is not None and one(result, "97140").allowed is not None
    assert one(result, "97140").allowed < fee  # PE cut on the second service


def test_uhc_pays_massage_only_inside_a_pt_or_ot_plan() -> None:
    covered = check("unitedhealthcare-commercial", ln("97124", 15, discipline="OT"))
    assert one(covered, "97124").status == "payable"
    assert "BIP029" in steps(one(covered, "97124"), "payer.massage")[0].source
    refused = check("unitedhealthcare-commercial", ln("97124", 15, discipline="SLP"))
    assert one(refused, "97124").status == "non_covered"
    assert findings(refused, "payer.massage")


# --------------------------------------------------------------------------------- Aetna
def test_aetna_pays_massage_only_as_an_adjunct() -> None:
    alone = check("aetna-commercial", ln("97124", 30))
    assert one(alone, "97124").status == "non_covered"
    assert findings(alone, "payer.massage")[0].source.startswith("Consumer summaries")
    with_exercise = check("aetna-commercial", ln("97124", 15), ln("97110", 30))
    assert one(with_exercise, "97124").status == "payable"


def test_aetna_assistant_rate_starts_on_2024_03_01() -> None:
    def cut(dos: str) -> list[Decision]:
        result = check("aetna-commercial", ln("97110", 30, assistant_minutes=30), dos=dos)
        return [s for line in result.lines if "CQ" in line.modifiers
                for s in steps(line, "pricing.assistant")]

    after = cut("2024-06-03")
    assert "(15%)" in after[0].message and "Aetna" in after[0].source
    before = cut("2024-01-16")
    assert "has not started" in before[0].message


def test_aetna_does_not_pay_a_massage_therapist_and_says_whose_rule() -> None:
    result = check("aetna-commercial", ln("97124", 15, performed_by="massage_therapist"),
                   ln("97110", 30))
    massage = one(result, "97124")
    assert massage.status == "non_covered"
    assert "justsimplywell" in steps(massage, "coverage.performer")[0].source


def test_aetna_visit_limit_and_unknown_rules_are_stated() -> None:
    result = check("aetna-commercial", ln("97110", 30))
    limit = findings(result, "payer.visit_limit")
    assert len(limit) == 1 and "60 PT visit(s) per calendar year" in limit[0].message
    unknown = findings(result, "payer.unknown")
    assert len(unknown) == 1
    for name in ("ncci", "unit_method", "daily_cap", "one_code_per_discipline"):
        assert RULE_NAMES[name] in unknown[0].message
    assert RULE_NAMES["assistant_rate"] not in unknown[0].message


# --------------------------------------------------------------------------------- Cigna
def test_cigna_pays_the_first_four_units_in_claim_line_order() -> None:
    lines = (ln("97140", 30), ln("97110", 30), ln("97530", 15))  # 97530 pays most, listed last
    result = check("cigna-commercial", *lines)
    assert units(result) == {"97140": 2, "97110": 2}
    cut = one(result, "97530")
    assert cut.status == "not_billable"
    assert "gawendaseminars" in steps(cut, "payer.unit_cap")[0].source
    before = check("cigna-commercial", *lines, dos="2022-10-14")
    assert units(before) == {"97140": 2, "97110": 2, "97530": 1}


def test_cigna_cuts_assistant_units_to_85_percent_from_2022_10_15() -> None:
    result = check("cigna-commercial", ln("97110", 45, assistant_minutes=45), dos="2022-10-17")
    line = one(result, "97110")
    assert "CQ" in line.modifiers and line.units == 3
    step = steps(line, "pricing.assistant")[0]
    assert "(15%)" in step.message and "apta.org" in step.source


# -------------------------------------------------------------------------------- Anthem
def test_anthem_caps_four_units_per_discipline() -> None:
    pt = check("anthem-commercial", ln("97110", 45), ln("97112", 30))
    assert sum(units(pt).values()) == 4
    assert "providernews.anthem.com" in findings(pt, "payer.unit_cap")[0].source
    both = check("anthem-commercial", ln("97110", 45, discipline="PT"),
                 ln("97112", 45, discipline="OT"))
    assert sum(units(both).values()) == 6 and not findings(both, "payer.unit_cap")


def test_anthem_counts_code_by_code_and_denies_97530_with_97140() -> None:
    result = check("anthem-commercial", ln("97110", 10), ln("97112", 10))
    assert units(result) == {"97110": 1, "97112": 1}  # per code; CMS pooling would give 1
    assert "apta.org" in steps(one(result, "97110"), "payer.units")[0].source
    pair = check("anthem-commercial", ln("97140", 15), ln("97530", 15, modifiers=["59"]))
    assert one(pair, "97530").status == "denied"
    assert "webpt.com" in findings(pair, "payer.pair")[0].source


# ----------------------------------------------------------------------- Horizon BCBSNJ
def test_horizon_assistant_rate_from_2022_06_27() -> None:
    def payer_paid(dos: str) -> tuple[Decimal | None, Decimal | None]:
        result = check("horizon-bcbsnj", ln("97110", 15, assistant_minutes=15), dos=dos)
        line = one(result, "97110")
        assert "CQ" in line.modifiers
        return line.allowed, line.payer_paid

    allowed, paid = payer_paid("2022-06-27")
    assert allowed is not None
    before_cut = cents(allowed * Decimal("0.80"))  # 80% after the stand-in 20% coinsurance
    assert paid == before_cut - cents(before_cut * Decimal("0.15"))
    allowed, paid = payer_paid("2022-06-24")
    assert allowed is not None and paid == cents(allowed * Decimal("0.80"))


# -------------------------------------------------------------------------------- Premera
def test_premera_pays_medical_massage_by_a_licensed_massage_therapist() -> None:
    result = check("premera-blue-cross", ln("97124", 30, performed_by="massage_therapist"))
    massage = one(result, "97124")
    assert massage.status == "payable" and massage.units == 2
    assert "lifewiseor.com" in steps(massage, "payer.massage")[0].source


def test_premera_counts_per_code_and_pays_assistants_85_percent_from_2022() -> None:
    result = check("premera-blue-cross", ln("97110", 10), ln("97112", 10))
    assert units(result) == {"97110": 1, "97112": 1}
    assisted = check("premera-blue-cross", ln("97110", 15, assistant_minutes=15),
                     dos="2022-01-03")
    step = steps(one(assisted, "97110"), "pricing.assistant")[0]
    assert "(15%)" in step.message and "premera.com" in step.source


# ------------------------------------------------------------------------------- Highmark
def test_highmark_pays_four_units_on_the_highest_allowed() -> None:
    result = check("highmark-commercial", ln("97140", 30), ln("97110", 30), ln("97530", 15))
    assert units(result) == {"97110": 2, "97140": 1, "97530": 1}  # 97140 pays least
    assert "Y-1-054" in findings(result, "payer.unit_cap")[0].source


def test_highmark_denies_massage_with_manipulation_unless_a_separate_region() -> None:
    same = check("highmark-commercial", ln("98940"), ln("97124", 15))
    assert one(same, "97124").status == "denied"  # NCCI's 98940/97124 edit denies it first
    separate = check("highmark-commercial", ln("98940"), ln("97124", 15, modifiers=["59"]))
    massage = one(separate, "97124")
    assert massage.status == "payable"
    assert "Y-9-010" in steps(massage, "payer.pair")[0].source  # Highmark's own word on 59


# -------------------------------------------------------------------------------- TRICARE
def test_tricare_pays_massage_by_a_therapist_not_by_a_massage_therapist() -> None:
    therapist = check("tricare", ln("97124", 15))
    assert one(therapist, "97124").status == "payable"
    assert "tricare-west" in steps(one(therapist, "97124"), "payer.massage")[0].source
    lmt = check("tricare", ln("97124", 15, performed_by="massage_therapist"))
    assert one(lmt, "97124").status == "non_covered"
    assert "tricare-west" in steps(one(lmt, "97124"), "coverage.performer")[0].source
    assert "1 visit(s) per day" in findings(therapist, "payer.visit_limit")[0].message


# ---------------------------------------------------------------------- Horizon NJ Health
def test_horizon_nj_health_pays_one_code_per_discipline_a_day() -> None:
    result = check("horizon-nj-health", ln("97110", 15), ln("97112", 15),
                   ln("97530", 15, discipline="OT"))
    statuses = {line.code: line.status for line in result.lines}
    assert statuses["97530"] == "payable"  # OT keeps its own code
    assert sorted(statuses[c] for c in ("97110", "97112")) == ["denied", "payable"]
    assert "horizonnjhealth.com" in findings(result, "payer.one_code")[0].source


def test_horizon_nj_health_pays_no_procedure_on_an_evaluation_day() -> None:
    result = check("horizon-nj-health", ln("97161"), ln("97110", 30))
    assert one(result, "97161").status == "payable"
    assert one(result, "97110").status == "denied"
    assert steps(one(result, "97110"), "payer.one_code")


def test_horizon_nj_health_applies_ncci_by_federal_rule() -> None:
    result = check("horizon-nj-health", ln("97140", 15), ln("97124", 15, discipline="OT"))
    massage = one(result, "97124")
    assert massage.status == "denied" and steps(massage, "ncci.ptp")
    assert "cms.gov" in steps(massage, "payer.ncci")[0].source


def test_nevada_medicaid_caps_four_units_a_day_over_all_therapy() -> None:
    result = check("nevada-medicaid", ln("97110", 45, discipline="PT"),
                   ln("97530", 30, discipline="OT"))
    assert sum(units(result).values()) == 4
    assert "docplayer.net" in findings(result, "payer.unit_cap")[0].source


# -------------------------------------------------------------------------- workers' comp
def test_california_workers_comp_mppr_and_visit_caps() -> None:
    result = check("california-workers-comp", ln("97110", 30), ln("97140", 15))
    reduced = [s for line in result.lines for s in steps(line, "pricing.mppr")]
    assert reduced and all("9789.15.4" in s.source for s in reduced)
    assert one(result, "97110").patient_owes == Decimal("0.00")
    limit = findings(result, "payer.visit_limit")[0]
    assert "24 PT visit(s) per injury" in limit.message and "4604.5" in limit.source


def test_texas_workers_comp_follows_medicare_payment_policies() -> None:
    result = check("texas-workers-comp", ln("97140", 23), ln("97124", 15))
    assert one(result, "97124").status == "denied"
    assert "134-203" in steps(one(result, "97124"), "payer.ncci")[0].source
    pooled = check("texas-workers-comp", ln("97110", 10), ln("97112", 10))
    assert sum(units(pooled).values()) == 1


# ---------------------------------------------------------------- across payers, unknowns
@pytest.mark.parametrize("payer", REAL)
def test_every_real_payer_says_once_which_rules_are_unknown(payer: str) -> None:
    result = check(payer, ln("97110", 30))
    unknown = findings(result, "payer.unknown")
    assert len(unknown) == 1
    for name in POLICIES[payer].unknown_rules():
        assert RULE_NAMES[name] in unknown[0].message
    assert "fees (" in unknown[0].message


def test_medicare_and_the_examples_carry_no_payer_findings() -> None:
    for payer in ("medicare", "commercial-cpt", "commercial-mppr"):
        result = check(payer, ln("97110", 30), ln("97140", 15))
        assert not [f for f in result.findings
                    if f.rule in ("payer.unknown", "payer.visit_limit", "payer.ncci")]
        assert not [s for line in result.lines for s in line.steps
                    if s.rule in ("payer.units", "payer.ncci", "payer.massage")]


def test_one_visit_under_medicare_uhc_anthem_and_cigna_differs_as_a_remittance_would() -> None:
    lines = (ln("97110", 38, assistant_minutes=30), ln("97140", 23), ln("97124", 15),
             ln("97530", 12))
    by_payer = {payer: check(payer, *lines) for payer in
                ("medicare", "unitedhealthcare-commercial", "anthem-commercial",
                 "cigna-commercial")}
    medicare, uhc, anthem, cigna = by_payer.values()
    # Medicare and UHC: the same units and allowed amounts (UHC priced at 100% of Medicare),
    # but UHC makes no CQ reduction it has published and no sequestration.
    assert units(medicare) == units(uhc)
    assert uhc.totals.allowed == medicare.totals.allowed
    assert uhc.totals.payer_paid is not None and medicare.totals.payer_paid is not None
    assert uhc.totals.payer_paid > medicare.totals.payer_paid
    # Anthem: per-code units, 97530 denied with 97140, four PT units.
    assert one(anthem, "97530").status == "denied"
    assert sum(units(anthem).values()) == 4
    # Cigna: four units in claim-line order, so 97530 (last) is cut; CQ paid at 85%.
    assert one(cigna, "97530").status == "not_billable"
    assert any(steps(line, "pricing.assistant") for line in cigna.lines)
    for result in (uhc, anthem, cigna):
        decided = [s for line in result.lines for s in line.steps if s.rule.startswith("payer.")]
        assert decided and all("http" in s.source for s in decided)


# ------------------------------------------------------- start dates and minute caps (a user file)
def _own_payer(tmp_path: Path, change: dict[str, Any]) -> dict[str, Any]:
    """A user's payer file: Texas workers' comp's rules with some of them changed."""
    body = _real("texas-workers-comp") | {"id": "own-plan", "name": "Own plan"}
    body["rules"] = body["rules"] | change
    (tmp_path / "own-plan.yaml").write_text(yaml.safe_dump(body, sort_keys=False),
                                            encoding="utf-8")
    return load_policies(tmp_path)


def test_ncci_and_mppr_apply_only_from_their_start_dates(tmp_path: Path) -> None:
    source = "Own plan contract, exhibit C"
    policies = _own_payer(tmp_path, {
        "ncci": {"value": "follows", "effective_from": "2025-01-01", "source": source,
                 "confidence": "A"},
        "mppr": {"value": 0.5, "effective_from": "2025-01-01", "source": source,
                 "confidence": "A"}})
    lines = [ln("97140", 23), ln("97124", 15), ln("97110", 30)]

    def run(dos: str) -> CheckResult:
        visit = {"visit_id": "o", "date_of_service": dos, "payer": "own-plan", "lines": lines}
        return therabill.check(visit, policies=policies)

    before, after = run("2024-12-31"), run("2025-01-02")
    assert one(before, "97124").status == "payable"
    assert "only from 2025-01-01" in findings(before, "payer.ncci")[0].message
    assert not [s for line in before.lines for s in steps(line, "pricing.mppr")
                if "PE" in s.message]
    assert one(after, "97124").status == "denied"
    assert source in steps(one(after, "97124"), "payer.ncci")[0].source
    assert any(source in s.source for line in after.lines for s in steps(line, "pricing.mppr"))


def test_a_minute_cap_counts_whole_units_and_only_its_codes(tmp_path: Path) -> None:
    policies = _own_payer(tmp_path, {"daily_cap": {
        "value": "capped", "minutes": 45, "per": "combined", "paid_first": "highest_paying",
        "codes": ["97110", "97140"], "source": "Own plan contract", "confidence": "A"}})

    def run(*lines: dict[str, Any]) -> CheckResult:
        visit = {"visit_id": "o", "date_of_service": "2025-06-02", "payer": "own-plan",
                 "lines": list(lines)}
        return therabill.check(visit, policies=policies)

    capped = run(ln("97110", 30), ln("97140", 30), ln("97112", 30))
    assert units(capped) == {"97110": 2, "97140": 1, "97112": 2}  # 45 minutes = 3 units
    assert "at most 3 timed units" in findings(capped, "payer.unit_cap")[0].message
