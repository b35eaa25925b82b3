"""One registry for every rlsuite environment.

Single-agent envs are registered with Gymnasium as well, so ``gymnasium.make("rlsuite/CartPole-v1")``
works; multi-agent envs (PettingZoo ``ParallelEnv``) live only here. ``make_vec`` returns the fastest
vector form an id offers: a native batched core where one exists, else a ``SyncVectorEnv``, always
with same-step autoreset so rollouts never see the ignored-action step of next-step autoreset.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from rlsuite.envs.entry import EntryPoint, EnvEntry, load_entry_point

VECTORIZATION_MODES = ("auto", "native", "sync", "async")


class UnknownEnvError(KeyError):
    """An id that neither rlsuite nor Gymnasium knows. The message names the closest ids."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


_REGISTRY: dict[str, EnvEntry] = {}


def register(
    id: str,
    entry_point: EntryPoint,
    *,
    vector_entry_point: EntryPoint | None = None,
    multi_agent: bool = False,
    kwargs: dict[str, Any] | None = None,
    max_episode_steps: int | None = None,
    family: str = "user",
    description: str = "",
    override: bool = False,
    requires: tuple[str, ...] = (),
    termination: EntryPoint | None = None,
    score_reference: tuple[float, float] | None = None,
) -> EnvEntry:
    """Add an environment to the registry.

    ``entry_point`` is a ``"module:Class"`` string or a callable returning the env; single-agent envs
    must be ``gymnasium.Env``, multi-agent envs ``pettingzoo.ParallelEnv`` (pass ``multi_agent=True``).
    ``vector_entry_point`` optionally builds a natively batched ``gymnasium.vector.VectorEnv``
    (called as ``vector_entry_point(num_envs=N, **kwargs)``) and must use same-step autoreset.
    ``termination`` and ``score_reference`` declare task knowledge (see :class:`EnvEntry`).
    """
    entry = EnvEntry(
        id=id,
        entry_point=entry_point,
        vector_entry_point=vector_entry_point,
        multi_agent=multi_agent,
        kwargs=dict(kwargs or {}),
        max_episode_steps=max_episode_steps,
        family=family,
        description=description,
        requires=tuple(requires),
        termination=termination,
        score_reference=score_reference,
    )
    return register_entry(entry, override=override)


def register_entry(entry: EnvEntry, *, override: bool = False) -> EnvEntry:
    """Add a ready-made :class:`EnvEntry` (single-agent ids are registered with Gymnasium too)."""
    _check_id(entry.id)
    if entry.id in _REGISTRY and not override:
        raise ValueError(
            f"environment id {entry.id!r} is already registered; pass override=True to replace it"
        )
    _REGISTRY[entry.id] = entry
    if not entry.multi_agent:
        if entry.id in gym.registry:
            del gym.registry[entry.id]
        gym.register(
            id=entry.id,
            entry_point=entry.entry_point,
            vector_entry_point=entry.vector_entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
            disable_env_checker=False,
        )
    return entry


def _check_id(env_id: str) -> None:
    try:
        gym.envs.registration.parse_env_id(env_id)
    except gym.error.Error as exc:
        raise ValueError(
            f"invalid environment id {env_id!r}: expected '[namespace/]Name-vN', e.g. 'rlsuite/MyEnv-v0'"
        ) from exc


def list_envs(family: str | None = None, *, multi_agent: bool | None = None) -> list[str]:
    """Registered rlsuite ids, sorted; optionally only one family or one agent kind."""
    _ensure_builtins()
    return sorted(
        entry.id
        for entry in _REGISTRY.values()
        if (family is None or entry.family == family)
        and (multi_agent is None or entry.multi_agent == multi_agent)
    )


def spec(env_id: str) -> EnvEntry:
    """The registry entry of ``env_id``; ids known only to Gymnasium get a synthesised entry."""
    _ensure_builtins()
    if env_id in _REGISTRY:
        return _REGISTRY[env_id]
    if env_id in gym.registry:
        gym_spec = gym.registry[env_id]
        entry = EnvEntry(
            id=env_id,
            entry_point=gym_spec.entry_point,
            vector_entry_point=gym_spec.vector_entry_point,
            kwargs=dict(gym_spec.kwargs),
            max_episode_steps=gym_spec.max_episode_steps,
            family="gymnasium",
        )
        twin = next((e for e in _REGISTRY.values() if env_id in e.gymnasium_twins), None)
        if twin is not None:  # a Gymnasium id of a task an rlsuite family declares knowledge about
            entry = replace(entry, termination=twin.termination, score_reference=twin.score_reference)
        return entry
    raise UnknownEnvError(_unknown_id_message(env_id))


def _bare_name(env_id: str) -> str:
    """``"rlsuite/CartPole-v1"`` -> ``"cartpole"``: the part of an id a typo is usually in."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0].lower()


def closest_ids(env_id: str, known: list[str], n: int = 5) -> list[str]:
    """Registered ids whose name looks like ``env_id``'s (namespace and version aside).

    Names are compared by similarity ratio (at least 0.75, or one containing the other) and only those
    within 0.1 of the closest are kept; among equally close names, ids in ``env_id``'s namespace and
    with its version come first.
    """
    bare, namespace = _bare_name(env_id), env_id.split("/")[0] if "/" in env_id else ""
    scored = []
    for candidate in known:
        name = _bare_name(candidate)
        ratio = difflib.SequenceMatcher(None, bare, name).ratio()
        if bare and (bare in name or name in bare) and min(len(bare), len(name)) >= 3:
            ratio = max(ratio, 0.75)
        if ratio < 0.75:
            continue
        same_namespace = (candidate.split("/")[0] if "/" in candidate else "") == namespace
        same_id = difflib.SequenceMatcher(None, env_id.lower(), candidate.lower()).ratio()
        scored.append((round(ratio, 2), same_namespace, candidate in _REGISTRY, same_id, candidate))
    scored.sort(reverse=True)
    best = scored[0][0] if scored else 0.0
    return [candidate for ratio, *_, candidate in scored if ratio >= best - 0.1][:n]


def _unknown_id_message(env_id: str) -> str:
    known = list(_REGISTRY) + [i for i in gym.registry if i not in _REGISTRY]
    close = closest_ids(env_id, known)
    hint = f"closest registered ids: {', '.join(map(repr, close))}" if close else "no registered id is close"
    namespace = env_id.split("/")[0] if "/" in env_id else ""
    if namespace and namespace != "rlsuite" and not any(k.startswith(namespace + "/") for k in known):
        hint += (
            f"; nothing is registered under '{namespace}/' yet: list the module that registers it in the "
            "experiment's `imports:` (or import it before making the env)"
        )
    return f"unknown environment id {env_id!r}; {hint}. `rlsuite envs` lists all."


def _load(entry_point: EntryPoint) -> Callable[..., Any]:
    """The callable an entry point names (importing its module); from then on, numba compiling an
    rlsuite kernel prints a one-line notice (:mod:`rlsuite.core.kernels`)."""
    target = load_entry_point(entry_point)
    from rlsuite.core.kernels import install_compile_notice

    install_compile_notice()
    return target


def make(env_id: str, **kwargs: Any) -> Any:
    """Build one environment: a ``gymnasium.Env`` or a ``pettingzoo.ParallelEnv``.

    Keyword arguments override the registered defaults (e.g. ``render_mode="rgb_array"``).
    """
    entry = spec(env_id)
    if entry.multi_agent:
        return _load(entry.entry_point)(**{**entry.kwargs, **kwargs})
    if env_id in _REGISTRY:
        _load(entry.entry_point)  # installs the compile notice before Gymnasium builds the env
    return gym.make(env_id, **kwargs)


def make_vec(
    env_id: str,
    num_envs: int,
    *,
    vectorization: str = "auto",
    **kwargs: Any,
) -> gym.vector.VectorEnv:
    """Build ``num_envs`` copies of an env as one same-step-autoreset vector env.

    Single-agent ids give a ``gymnasium.vector.VectorEnv``; multi-agent ids with a native batched core
    (SMAC) give their multi-agent vector env, with arrays shaped ``[num_envs, n_agents, ...]``.

    ``vectorization``: ``"auto"`` (native batched core if the id has one, else sync), ``"native"``,
    ``"sync"`` or ``"async"`` (one process per env).
    """
    if vectorization not in VECTORIZATION_MODES:
        raise ValueError(
            f"vectorization={vectorization!r}; accepted values: {', '.join(VECTORIZATION_MODES)}"
        )
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    entry = spec(env_id)
    if entry.multi_agent:
        return _make_multi_agent_vec(entry, num_envs, vectorization, kwargs)
    if vectorization == "native" and not entry.has_native_vector:
        raise ValueError(f"{env_id!r} has no native batched core; use vectorization='sync' or 'async'")
    # Gymnasium's own vector entry points use next-step autoreset; "auto" takes them only for our ids.
    use_native = vectorization == "native" or (vectorization == "auto" and env_id in _REGISTRY)
    if entry.has_native_vector and use_native:
        env = _load(entry.vector_entry_point)(num_envs=num_envs, **{**entry.kwargs, **kwargs})
    else:
        mode = "async" if vectorization == "async" else "sync"
        env = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode=mode,
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **kwargs,
        )
        env.__class__ = _CHECKED_RESET[type(env)]  # same object and state; reset validates seed/options
    if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
        raise RuntimeError(f"vector env for {env_id!r} must use same-step autoreset")
    return env


def _checked_reset(base: type) -> Any:
    def reset(self: Any, *, seed: Any = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        """Refuse bad seeds and options with rlsuite's errors (Gymnasium's vector envs take ``seed=True`` as
        1), as every rlsuite vector env does; then reset as the base class does."""
        from rlsuite.envs.inputs import check_reset_options, check_vector_seed

        check_reset_options(options)
        return base.reset(self, seed=check_vector_seed(seed, self.num_envs), options=options)

    return reset


class _CheckedSyncVectorEnv(gym.vector.SyncVectorEnv):
    """``SyncVectorEnv`` whose ``reset`` checks its arguments."""

    reset = _checked_reset(gym.vector.SyncVectorEnv)


class _CheckedAsyncVectorEnv(gym.vector.AsyncVectorEnv):
    """``AsyncVectorEnv`` whose ``reset`` checks its arguments."""

    reset = _checked_reset(gym.vector.AsyncVectorEnv)


_CHECKED_RESET = {
    gym.vector.SyncVectorEnv: _CheckedSyncVectorEnv,
    gym.vector.AsyncVectorEnv: _CheckedAsyncVectorEnv,
}


def _make_multi_agent_vec(entry: EnvEntry, num_envs: int, vectorization: str, kwargs: dict[str, Any]) -> Any:
    """Multi-agent ids: a team vector env with arrays ``[num_envs, n_agents, ...]``.

    ``"auto"``/``"native"``: the id's native batched env if it has one; ``"sync"`` (and ``"auto"`` without
    a native one): :class:`rlsuite.wrappers.multi_agent.ParallelVectorEnv` over ``num_envs`` copies of
    the PettingZoo env, stepped in-process. ``"async"`` is not supported for multi-agent ids.
    """
    if vectorization == "async":
        raise ValueError(
            f"{entry.id!r} is multi-agent: vectorization='async' is not supported for multi-agent envs; "
            + ("use 'auto', 'native' or 'sync'" if entry.has_native_vector else "use 'auto' or 'sync'")
        )
    if vectorization == "native" and not entry.has_native_vector:
        raise ValueError(f"{entry.id!r} has no native batched core; use vectorization='auto' or 'sync'")
    if entry.has_native_vector and vectorization in ("auto", "native"):
        return _load(entry.vector_entry_point)(num_envs=num_envs, **{**entry.kwargs, **kwargs})
    from rlsuite.wrappers.multi_agent import ParallelVectorEnv  # lazy: keeps `import rlsuite` light

    return ParallelVectorEnv(lambda: make(entry.id, **kwargs), num_envs)


_BUILTINS_LOADED = False


def _ensure_builtins() -> None:
    """Register the built-in families' ids once (with rlsuite and, single-agent ones, Gymnasium)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from rlsuite.envs.builtin import builtin_entries

    for entry in builtin_entries():
        register_entry(entry)


load_builtins = _ensure_builtins
