"""tennis-lab."""
