"""Multi-seed sweeps and reports."""
