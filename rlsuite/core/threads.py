"""Thread-pool control for NumPy's BLAS.

OpenBLAS starts one thread per core and spin-waits; for the small matmuls of CPU rollouts and updates
that turns a 30 us product into a 600 us one as soon as another process wants a core. The NumPy
code paths therefore run with BLAS pinned to one thread (torch's own threads are set separately by
``torch_threads``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


def single_threaded_blas() -> AbstractContextManager:
    """A context in which NumPy's BLAS uses one thread (a few microseconds to enter)."""
    global _controller
    if _controller is None:
        import numpy  # noqa: F401  (BLAS must be loaded before the controller looks for it)

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
