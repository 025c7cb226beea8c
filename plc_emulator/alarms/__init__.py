"""alarms package."""
