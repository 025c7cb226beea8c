"""tagmap package."""
