"""The shipped JSON Schema: valid draft 2020-12, accepts the default map, rejects broken ones."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from plc_emulator.cli import main
from plc_emulator.tagmap import schema
from plc_emulator.tagmap._alarms import ALARM_KEYS, HISTORIAN_KEYS
from plc_emulator.tagmap._loader import HISTORIAN_SETTINGS_KEYS, MODBUS_KEYS, OPCUA_SETTINGS_KEYS, TOP_KEYS
from plc_emulator.tagmap._modbus import MIRROR_KEYS, POINT_KEYS
from plc_emulator.tagmap._schema import build_schema
from plc_emulator.tagmap._tags import DEVICE_KEYS, OPCUA_KEYS, TAG_KEYS
from tests.conftest import DEFAULT_TAGMAP
from tests.tagmap.mini import MINI, broken


def _errors(doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    return [e.message for e in validator.iter_errors(doc)]


class TestSchema:
    def test_is_a_valid_2020_12_schema(self) -> None:
        s = schema()
        assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(s)

    def test_default_map_passes(self) -> None:
        assert _errors(yaml.safe_load(DEFAULT_TAGMAP.read_text(encoding="utf-8"))) == []

    def test_mini_map_passes(self) -> None:
        assert _errors(yaml.safe_load(MINI)) == []

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("kind: analog", "knd: analog"),  # unknown key (and kind missing)
            ("seed: 1", "seed: one"),  # wrong type
            ("format: bool", "format: boolean"),  # not a format
            ("        write_limits: [20, 80]\n", ""),  # rw without write limits
            ("format: uint16, raw_range: [0, 65535]", "format: uint16"),  # scaled without raw_range
            ("range: [0, 1500]", "range: [0]"),  # not a pair
            ("on_delay: 15s", "on_delay: 15 sec"),  # not a duration
            ("ref: 40005,", "ref: 40005, address: 4,"),  # both ref and address
        ],
    )
    def test_broken_maps_fail(self, old: str, new: str) -> None:
        assert _errors(yaml.safe_load(broken(old, new)))

    def test_schema_knows_the_same_keys_as_the_loader(self) -> None:
        """Each object in the schema lists exactly the keys the loader accepts."""
        s = schema()
        d = s["$defs"]
        props = s["properties"]
        assert set(props) == set(TOP_KEYS)
        assert set(props["modbus"]["oneOf"][1]["properties"]) == set(MODBUS_KEYS)
        assert set(props["opcua"]["oneOf"][1]["properties"]) == set(OPCUA_SETTINGS_KEYS)
        assert set(props["historian"]["oneOf"][1]["properties"]) == set(HISTORIAN_SETTINGS_KEYS)
        assert set(d["device"]["properties"]) == set(DEVICE_KEYS)
        assert set(d["tag"]["properties"]) == set(TAG_KEYS)
        assert set(d["modbus_point"]["properties"]) == set(POINT_KEYS)
        assert set(d["modbus_mirror"]["properties"]) == set(MIRROR_KEYS)
        assert set(d["opcua"]["properties"]) == set(OPCUA_KEYS)
        assert set(d["alarms"]["properties"]) == set(ALARM_KEYS)
        assert set(d["historian"]["properties"]) == set(HISTORIAN_KEYS)

    def test_shipped_file_is_regenerated(self) -> None:
        """schema.json is what `python -m plc_emulator.tagmap._schema` builds from the loader's key lists."""
        assert build_schema() == schema()

    def test_cli_prints_it(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["schema"]) == 0
        assert json.loads(capsys.readouterr().out) == schema()
