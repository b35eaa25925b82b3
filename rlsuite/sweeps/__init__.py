"""Multi-seed sweeps (local processes or Ray) and their statistical reports.

``run_sweep("sweep.yaml")`` runs (or resumes) a sweep; ``write_report(sweep_dir)`` writes its report.
See docs/sweeps.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_report", "load_sweep", "run_sweep", "write_report"]


def __getattr__(name: str) -> Any:  # lazy: the report imports matplotlib, the runner the algorithms
    if name == "run_sweep":
        from rlsuite.sweeps.runner import run_sweep

        return run_sweep
    if name == "load_sweep":
        from rlsuite.sweeps.spec import load_sweep

        return load_sweep
    if name in ("build_report", "write_report"):
        from rlsuite.sweeps import report

        return getattr(report, name)
    raise AttributeError(f"module 'rlsuite.sweeps' has no attribute {name!r}")
