"""UNECE unit codes and the users-file / policy configuration (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_emulator.opcua.security import (
    ALL_POLICIES,
    ConfigError,
    Role,
    hash_password,
    load_users,
    parse_policies,
    verify_password,
)
from plc_emulator.opcua.units import unit_id, unit_info


class TestUnits:
    def test_unit_id_encoding_matches_part8(self) -> None:
        """CEL -> 4408652 and PS -> 20563, the Part 8 encoding of UNECE codes."""
        assert unit_id("CEL") == 4408652
        assert unit_id("PS") == 20563
        assert unit_id("P1") == (ord("P") << 8) | ord("1")

    @pytest.mark.parametrize(("unit", "code"), [
        ("PSI", "PS"), ("°C", "CEL"), ("%", "P1"), ("bbl/day", "B1"), ("mm/s", "C16"), ("rpm", "RPM"),
        ("ms", "C26"), ("h", "HUR"),
    ])
    def test_known_units(self, unit: str, code: str) -> None:
        info = unit_info(unit)
        assert info.code == code
        assert info.unit_id == unit_id(code)

    def test_mmscfd_has_no_code(self) -> None:
        """MMSCFD is not in Rec 20: UnitId -1 with our own display name."""
        info = unit_info("MMSCFD")
        assert (info.code, info.unit_id, info.display) == (None, -1, "MMSCFD")

    def test_unknown_unit_keeps_its_text(self) -> None:
        info = unit_info("furlongs/fortnight")
        assert (info.unit_id, info.display) == (-1, "furlongs/fortnight")

    def test_bad_code(self) -> None:
        with pytest.raises(ValueError, match="not a UNECE"):
            unit_id("ABCD")


class TestPasswords:
    def test_roundtrip(self) -> None:
        h = hash_password("s3cret")
        assert h.startswith("scrypt$")
        assert verify_password("s3cret", h)
        assert not verify_password("s3cret!", h)

    def test_salted(self) -> None:
        assert hash_password("x") != hash_password("x")

    def test_malformed_hash_is_false(self) -> None:
        assert not verify_password("x", "plain-text")
        assert not verify_password("x", "scrypt$a$b$c$d$e")


class TestUsersFile:
    def test_load(self, tmp_path: Path) -> None:
        f = tmp_path / "users.yaml"
        f.write_text(f"users:\n  ann: {{role: operator, password: '{hash_password('pw')}'}}\n")
        users = load_users(f)
        assert users["ann"].role is Role.OPERATOR
        assert verify_password("pw", users["ann"].password_hash)

    def test_every_problem_reported(self, tmp_path: Path) -> None:
        f = tmp_path / "users.yaml"
        f.write_text("users:\n  a: {role: admin, password: x}\n  b: {role: viewer, password: plain}\n")
        with pytest.raises(ConfigError) as err:
            load_users(f)
        msg = str(err.value)
        assert "users.a.role: must be one of viewer, operator, engineer (got 'admin')" in msg
        assert "users.b.password: must be a salted hash" in msg

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="cannot read users file"):
            load_users(tmp_path / "nope.yaml")

    def test_bad_yaml_has_location(self, tmp_path: Path) -> None:
        f = tmp_path / "users.yaml"
        f.write_text("users: [\n")
        with pytest.raises(ConfigError, match=r"users.yaml:\d+:\d+: not valid YAML"):
            load_users(f)


class TestPolicies:
    def test_policy_without_mode_offers_both(self) -> None:
        assert parse_policies("None,Basic256Sha256") == (
            "None", "Basic256Sha256:Sign", "Basic256Sha256:SignAndEncrypt")

    def test_all(self) -> None:
        assert parse_policies("all") == ALL_POLICIES

    def test_mode_and_case(self) -> None:
        got = parse_policies("aes256_sha256_rsapss:signandencrypt")
        assert got == ("Aes256_Sha256_RsaPss:SignAndEncrypt",)

    @pytest.mark.parametrize("text", ["Basic128Rsa15", "None:Sign", "Basic256Sha256:Encrypt", ","])
    def test_rejected(self, text: str) -> None:
        with pytest.raises(ConfigError):
            parse_policies(text)
