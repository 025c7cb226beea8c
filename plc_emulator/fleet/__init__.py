"""A field of RTUs described in one fleet file (docs/fleet.md).

    fleet = load_fleet("tag_maps/fleets/oil_field.yaml")   # FleetError lists every problem
    for rtu in shard_rtus(fleet, 0, 3): print(rtu.id, rtu.modbus)

Pure: reads files, imports no asyncio, socket, time or protocol library.
"""

from plc_emulator.fleet._loader import load_fleet, loads_fleet
from plc_emulator.fleet._ranges import rtu_seed
from plc_emulator.fleet._schema import build_schema
from plc_emulator.fleet.model import Fleet, FleetError, Gateway, ModbusAddress, RtuSpec
from plc_emulator.fleet.shard import parse_shard, shard_of, shard_rtus

__all__ = ["Fleet", "FleetError", "Gateway", "ModbusAddress", "RtuSpec", "build_schema", "load_fleet",
           "loads_fleet", "parse_shard", "rtu_seed", "shard_of", "shard_rtus"]
