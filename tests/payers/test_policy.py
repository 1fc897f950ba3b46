"""Payer policy files: validated on load, one file per payer, and a user's file is used as-is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import therabill
from therabill.payers.policy import POLICY_DIR, PolicyError, load_policies, load_policy


def _write(directory: Path, name: str, body: dict[str, object]) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def _shipped(name: str) -> dict[str, object]:
    body = yaml.safe_load((POLICY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(body, dict)
    return body


def test_shipped_policies_load() -> None:
    policies = load_policies(POLICY_DIR)
    assert {"medicare", "commercial-cpt", "commercial-mppr"} <= set(policies)
    assert policies["commercial-cpt"].unit_method == "cpt_per_code"
    assert policies["medicare"].unit_method == "cms_total_time"


def test_an_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    body = _shipped("medicare") | {"pool_diciplines": True}
    with pytest.raises(PolicyError, match=r"medicare\.yaml: pool_diciplines: unknown key"):
        load_policy(_write(tmp_path, "medicare", body))


def test_an_unknown_key_inside_pricing_is_an_error(tmp_path: Path) -> None:
    body = _shipped("commercial-cpt")
    pricing = dict(body["pricing"])  # type: ignore[call-overload]
    pricing["sequester"] = False
    with pytest.raises(PolicyError, match=r"pricing\.sequester: unknown key"):
        load_policy(_write(tmp_path, "commercial-cpt", body | {"pricing": pricing}))


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="must match the file name"):
        load_policy(_write(tmp_path, "my-plan", _shipped("commercial-cpt")))


def test_fee_table_pricing_needs_its_table(tmp_path: Path) -> None:
    body = _shipped("commercial-cpt") | {"id": "table-plan"}
    body["pricing"] = {"basis": "fee_table", "source": "contract"}
    with pytest.raises(PolicyError, match="fee_table pricing needs a fee_table"):
        load_policy(_write(tmp_path, "table-plan", body))


def test_a_user_file_adds_a_payer_that_check_uses(tmp_path: Path) -> None:
    body = _shipped("commercial-cpt") | {"id": "acme", "name": "Acme Health"}
    body["pricing"] = {"basis": "fee_table", "fee_table": {"97110": 41.50, "97140": 38.00},
                       "mppr": False, "sequestration": False, "coinsurance": 0.10,
                       "source": "Acme contract 2025, exhibit B"}
    _write(tmp_path, "acme", body)
    policies = load_policies(tmp_path)
    assert "medicare" in policies and "acme" in policies
    visit = {"visit_id": "a1", "date_of_service": "2025-03-04", "payer": "acme",
             "lines": [{"code": "97110", "minutes": 30}, {"code": "97140", "minutes": 10}]}
    result = therabill.check(visit, policies=policies)
    assert result.unit_method == "cpt_per_code"
    amounts = {line.code: (line.units, line.allowed, line.payer_paid) for line in result.lines}
    assert amounts["97110"][0] == 2 and str(amounts["97110"][1]) == "83.00"
    assert amounts["97140"][0] == 1 and str(amounts["97140"][1]) == "38.00"
    assert str(amounts["97140"][2]) == "34.20"  # 90% of 38.00, no sequestration


def test_a_user_file_with_a_shipped_id_replaces_it(tmp_path: Path) -> None:
    body = _shipped("medicare") | {"pool_disciplines": True}
    _write(tmp_path, "medicare", body)
    assert load_policies(tmp_path)["medicare"].pool_disciplines is True
    assert load_policies(POLICY_DIR)["medicare"].pool_disciplines is False


def test_two_policies_with_one_id_never_share_prices(tmp_path: Path) -> None:
    """Results memoised for one policy object must not leak to another with the same id (a
    service that reloads an edited payer file keeps running with the same reference data)."""
    visit = {"visit_id": "a1", "date_of_service": "2025-03-04", "payer": "acme",
             "lines": [{"code": "97110", "minutes": 30}]}
    amounts = []
    for percent in (110, 120):
        directory = tmp_path / str(percent)
        directory.mkdir()
        body = _shipped("commercial-cpt") | {"id": "acme"}
        body["pricing"] = dict(body["pricing"]) | {"percent_of_medicare": percent}  # type: ignore[call-overload]
        _write(directory, "acme", body)
        result = therabill.check(visit, policies=load_policies(directory))
        amounts.append(result.lines[0].allowed)
    assert amounts[0] is not None and amounts[1] is not None
    assert amounts[1] > amounts[0]
