"""Build the Modbus adapter of ``plc-emulator run``: the plain TCP listener plus the configured links."""

from __future__ import annotations

from plc_emulator.modbus.config import ModbusConfig
from plc_emulator.modbus.server import ModbusAdapter
from plc_emulator.modbus.service import PlcLike
from plc_emulator.tagmap.model import TagMap

__all__ = ["build_adapter"]


def build_adapter(tagmap: TagMap, plc: PlcLike, host: str, port: int,
                  config: ModbusConfig | None = None) -> ModbusAdapter:
    cfg = config if config is not None else ModbusConfig()
    return ModbusAdapter(tagmap, plc, host=host, port=port, access=cfg.access, limits=cfg.limits)
