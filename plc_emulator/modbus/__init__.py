"""Modbus TCP adapter: serves the register image of the current snapshot (docs/modbus.md)."""

from plc_emulator.modbus.server import ModbusAdapter
from plc_emulator.modbus.service import ModbusService, ModbusStats

__all__ = ["ModbusAdapter", "ModbusService", "ModbusStats"]
