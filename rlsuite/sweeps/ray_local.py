"""The Ray session of ``rlsuite sweep --backend ray``: a cluster at ``--address``, or a local one.

A local cluster (no ``--address``) is this machine's only, and nobody else's:

* **Loopback only.** Ray binds its servers (GCS, raylet, object manager, workers, agents) to the
  node's IP address. The cluster is started with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's
  single-machine mode (its default on Windows and macOS), in which the node IP is the loopback
  address; the session checks that Ray took it and refuses to go on otherwise. The dashboard is off.
* **Token authentication.** ``RAY_AUTH_MODE=token`` (Ray >= 2.52) with a random token that lives in
  the environment of this process and of the Ray processes only (not in a file other users might
  read); the runs' own processes do not get it.
* **Nothing outlives the sweep.** A :class:`~rlsuite.core.lifeline.Reaper` SIGKILLs the processes
  Ray started once the sweep process ends, however it ends (Ray's own clean-up does not run on a
  SIGKILL, and its agents then live on).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rlsuite.core.lifeline import Reaper
from rlsuite.sweeps.spec import SweepError

MIN_RAY_VERSION = (2, 52)  # token authentication (RAY_AUTH_MODE=token)
_SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_TOKEN = secrets.token_hex(32)  # one per process: Ray caches the token it loaded


def import_ray() -> Any:
    """Import Ray (>= 2.52), or raise SweepError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise SweepError(
            f"--backend ray needs Ray ({exc}); install it with: pip install 'rlsuite[ray]'"
        ) from exc
    if _version(ray.__version__) < MIN_RAY_VERSION:
        wanted = ".".join(map(str, MIN_RAY_VERSION))
        raise SweepError(
            f"--backend ray needs Ray >= {wanted} (token authentication); found {ray.__version__}: "
            "pip install -U 'rlsuite[ray]'"
        )
    return ray


@contextmanager
def ray_session(address: str | None, num_cpus: int) -> Iterator[Any]:
    """Ray, connected: to ``address``, to the caller's running Ray, or to a new local cluster."""
    ray = import_ray()
    if ray.is_initialized():  # the caller's own Ray session: use it as it is
        yield ray
        return
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        try:
            yield ray
        finally:
            ray.shutdown()
        return
    with _local_cluster(ray, num_cpus):
        yield ray


@contextmanager
def _local_cluster(ray: Any, num_cpus: int) -> Iterator[None]:
    settings = {_SINGLE_MACHINE: "0", "RAY_AUTH_MODE": "token"}
    if not os.environ.get("RAY_AUTH_TOKEN_PATH"):
        settings["RAY_AUTH_TOKEN"] = os.environ.get("RAY_AUTH_TOKEN") or _TOKEN
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    _reload_ray_settings()
    reaper = Reaper() if os.name == "posix" else None
    try:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            _check_local_cluster(ray)
            yield
        finally:
            ray.shutdown()
    finally:
        if reaper is not None:
            reaper.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reload_ray_settings()


def _check_local_cluster(ray: Any) -> None:
    """Refuse a local cluster that would listen beyond loopback or accept unauthenticated clients."""
    node_ip = ray.util.get_node_ip_address()
    if not ipaddress.ip_address(node_ip).is_loopback:
        raise SweepError(
            f"the local Ray cluster took node address {node_ip}, not loopback, so it would listen on "
            "the network; start a cluster yourself and pass --address"
        )
    from ray._private.authentication.authentication_utils import is_token_auth_enabled

    if not is_token_auth_enabled():
        raise SweepError("the local Ray cluster started without token authentication (RAY_AUTH_MODE=token)")


def _reload_ray_settings() -> None:
    """Make an already imported Ray see the environment just set (Ray caches both at import).

    ``ENABLE_RAY_CLUSTER`` is the constant Ray derives from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``; the
    C++ config (``RAY_AUTH_MODE``) and the token are reloaded the way Ray's own ``ray.init`` does when
    it turns token authentication on.
    """
    from ray._private import ray_constants
    from ray._raylet import AuthenticationTokenLoader, Config

    default = not ray_constants.IS_WINDOWS_OR_OSX
    ray_constants.ENABLE_RAY_CLUSTER = ray_constants.env_bool(_SINGLE_MACHINE, default)
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
