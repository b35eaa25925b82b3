"""A one-line notice when numba compiles rlsuite's kernels (the first run on a machine).

Every rlsuite kernel is compiled with ``cache=True``, so numba writes it to its cache (``__pycache__``
beside the source, or ``NUMBA_CACHE_DIR``) and later processes load it in well under a second. The
first process pays 10-60 s per env family with no output of its own. :func:`install_compile_notice`
listens to numba's ``numba:compile`` event, which fires only when a kernel is really compiled (a cache
miss, never a cache hit), and prints one line to stderr the first time an rlsuite kernel compiles.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NOTICE = "rlsuite: compiling numba kernels: first run only, they are cached for later runs (10-60 s)"
_state: dict[str, Any] = {"quiet": False, "installed": False, "announced": False, "compiled": []}


def _module_of(event_data: Any) -> str:
    dispatcher = (event_data or {}).get("dispatcher") if isinstance(event_data, dict) else None
    func = getattr(dispatcher, "py_func", None)
    return getattr(func, "__module__", "") or ""


def _on_compile(module: str) -> None:
    if not module.startswith("rlsuite."):
        return
    _state["compiled"].append(module)
    if _state["announced"] or _state["quiet"]:
        return
    _state["announced"] = True
    print(NOTICE, file=sys.stderr, flush=True)


def install_compile_notice() -> None:
    """Listen for numba compilations of rlsuite kernels (idempotent; imports numba)."""
    if _state["installed"]:
        return
    from numba.core import event

    class _Listener(event.Listener):
        def on_start(self, evt: event.Event) -> None:
            _on_compile(_module_of(evt.data))

        def on_end(self, evt: event.Event) -> None:
            pass

    event.register("numba:compile", _Listener())
    _state["installed"] = True


def compiled_modules() -> list[str]:
    """The rlsuite modules whose kernels this process compiled (not loaded from the cache), in order."""
    return list(dict.fromkeys(_state["compiled"]))


@contextmanager
def quiet_notices(quiet: bool = True) -> Iterator[None]:
    """No compilation notice inside the block (``--quiet`` runs)."""
    previous = _state["quiet"]
    _state["quiet"] = quiet or previous
    try:
        yield
    finally:
        _state["quiet"] = previous
