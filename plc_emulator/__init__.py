"""plc-emulator: a deterministic PLC/RTU emulator of an offshore separation train."""

__version__ = "0.1.0"
