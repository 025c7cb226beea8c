"""OPC UA adapter (asyncua): the register image as a typed, secure address space.

    async with OpcUaAdapter(tagmap, plc, host="127.0.0.1", port=4840, security=SecurityConfig()) as ua:
        print(ua.endpoint)

See ``docs/opcua.md``.
"""

from plc_emulator.opcua.security import ConfigError, Role, SecurityConfig, load_users, parse_policies
from plc_emulator.opcua.server import OpcUaAdapter

__all__ = ["ConfigError", "OpcUaAdapter", "Role", "SecurityConfig", "load_users", "parse_policies"]
