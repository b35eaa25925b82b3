"""Classic-control environments implemented as numba-compiled batched cores."""
