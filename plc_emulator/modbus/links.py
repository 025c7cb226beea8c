"""Build the Modbus adapter of ``plc-emulator run``: the plain TCP listener plus the configured links.

All links serve the one :class:`~plc_emulator.modbus.service.ModbusService` (one image, one set of
unit ids, one access rule): RTU-over-TCP on its own port, Modbus/TCP Security (TLS) with the role
from the client certificate, RTU on a serial port.
"""

from __future__ import annotations

import functools

from plc_emulator.modbus.config import ModbusConfig
from plc_emulator.modbus.rtu import RtuStreamFramer
from plc_emulator.modbus.server import Listener, ModbusAdapter
from plc_emulator.modbus.service import PlcLike
from plc_emulator.modbus.tls import level_of, server_context
from plc_emulator.tagmap.model import TagMap

__all__ = ["build_adapter"]


def build_adapter(tagmap: TagMap, plc: PlcLike, host: str, port: int,
                  config: ModbusConfig | None = None) -> ModbusAdapter:
    cfg = config if config is not None else ModbusConfig()
    mb = ModbusAdapter(tagmap, plc, host=host, port=port, access=cfg.access, limits=cfg.limits,
                       unit_ids=cfg.unit_ids)
    units = mb.service.unit_ids
    if cfg.rtu_tcp_port is not None:
        mb.add_listener(Listener("rtu-tcp", host, cfg.rtu_tcp_port, access=cfg.access, limits=cfg.limits,
                                 framer=functools.partial(RtuStreamFramer, units)))
    if cfg.tls is not None:
        tls = cfg.tls
        mb.add_listener(Listener("tls", host, tls.port, access=tls.default_level, limits=cfg.limits,
                                 ssl_context=server_context(tls),
                                 level_of=functools.partial(level_of, default=tls.default_level)))
    if cfg.serial is not None:
        mb.add_serial(cfg.serial)
    return mb
