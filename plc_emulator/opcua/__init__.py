"""opcua package."""
