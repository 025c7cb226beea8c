"""Shards (worker processes or StatefulSet ordinals) split a fleet into disjoint, clash-free parts."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from plc_emulator.fleet import load_fleet, parse_shard, shard_of, shard_rtus
from tests.fleet.test_fleet_file import EXAMPLE


def test_three_shards_are_disjoint_cover_the_fleet_and_share_no_address() -> None:
    fleet = load_fleet(EXAMPLE)
    shards = [shard_rtus(fleet, i, 3) for i in range(3)]
    ids = [r.id for s in shards for r in s]
    assert sorted(ids) == sorted(r.id for r in fleet.rtus)  # every RTU exactly once
    assert all(len(s) > 0 for s in shards)
    listeners = [{(r.modbus.port, r.modbus.unit) for r in s} for s in shards]
    ports = [{r.modbus.port for r in s} for s in shards]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not listeners[i] & listeners[j]
            assert not ports[i] & ports[j], "two shards would listen on one port (compose/loopback)"
    for gw in fleet.gateways:  # a gateway's unit ids travel on one connection: one shard serves all of them
        owners = {i for i, s in enumerate(shards) for r in s if r.modbus.gateway == gw.name}
        assert len(owners) == 1


def test_adding_rtus_moves_none_and_more_shards_move_few() -> None:
    fleet = load_fleet(EXAMPLE)
    smaller = dataclasses.replace(fleet, rtus=fleet.rtus[: len(fleet.rtus) // 2])
    before = {r.id: i for i in range(3) for r in shard_rtus(smaller, i, 3)}
    after = {r.id: i for i in range(3) for r in shard_rtus(fleet, i, 3)}
    assert all(after[k] == v for k, v in before.items())
    four = {r.id: i for i in range(4) for r in shard_rtus(fleet, i, 4)}
    own = [r.id for r in fleet.rtus if r.modbus.gateway is None]
    moved = sum(1 for k in own if four[k] != after[k])
    assert 0 < moved < len(own) * 0.4  # about 1/4 expected; a modulo split would move about 3/4


def test_balance_over_own_port_rtus() -> None:
    counts = Counter(shard_of(f"rtu:R-{i}", 8) for i in range(8000))
    assert set(counts) == set(range(8))
    assert max(counts.values()) < 1.15 * 1000


@pytest.mark.parametrize("text", ["3/3", "-1/3", "1", "a/b", "0/0", "0/5000"])
def test_bad_shard_text(text: str) -> None:
    with pytest.raises(ValueError, match="shard must be I/K"):
        parse_shard(text)


def test_shard_text() -> None:
    assert parse_shard("2/3") == (2, 3)
