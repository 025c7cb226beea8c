"""modbus package."""
