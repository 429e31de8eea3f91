"""Fast read-only loading of study databases into columns, derived series, CSV export (no Qt)."""
