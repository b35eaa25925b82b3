"""What an experiment must pass before anything runs: checks that need the algorithm and env registries.

:func:`rlsuite.config.build_experiment` checks each key on its own (types, ranges, names, paths); this
module checks the config against what it names: the env id is registered, ``env.kwargs`` are ones the env
constructor takes, the ``offline`` section is read by the chosen algorithm, and the algorithm's own
checks pass. Every problem is a :class:`~rlsuite.config.ConfigError` naming the key, raised before a run
folder is made or an env is built for training.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gymnasium.envs.registration import load_env_creator

from rlsuite.config import ConfigError, EnvConfig, ExperimentConfig, OfflineConfig
from rlsuite.envs.registry import EnvEntry, UnknownEnvError, make_vec, spec

# Keywords gymnasium.make takes itself (not passed to the env constructor).
GYM_MAKE_KEYWORDS = ("max_episode_steps", "disable_env_checker")


def check_experiment(config: ExperimentConfig) -> None:
    """Raise :class:`ConfigError` (naming the key) for the first problem found; return when it can run."""
    from rlsuite.algos import get_algorithm

    algo_cls = get_algorithm(config.algo.name)
    check_offline_section(algo_cls, config.offline)
    problems = algo_cls.config_problems(config.algo) + algo_cls.offline_problems(config.offline)
    if problems:
        raise ConfigError("; ".join(problems))
    check_env(config.env)


def check_offline_section(algo_cls: Any, offline: OfflineConfig) -> None:
    """An ``offline`` section set for an algorithm that never reads it is refused (it would be ignored)."""
    if getattr(algo_cls, "reads_offline_section", False) or offline == OfflineConfig():
        return
    given = [f"offline.{key}" for key, value in vars(offline).items() if value is not None]
    raise ConfigError(
        f"{given[0]}: {algo_cls.name} does not read the offline section (it would be ignored); it applies "
        f"to {', '.join(_offline_readers())}. Remove {' and '.join(given)} or choose one of those algorithms"
    )


def _offline_readers() -> list[str]:
    from rlsuite.algos import algorithm_names, get_algorithm

    readers = []
    for name in algorithm_names():
        try:
            if getattr(get_algorithm(name), "reads_offline_section", False):
                readers.append(name)
        except ImportError:  # a peer whose library is missing reads nothing
            continue
    return readers


def check_env(env: EnvConfig) -> None:
    """``env.id`` is registered and ``env.kwargs`` are taken by the constructor that will receive them.

    Unknown names are found from the constructor's signature; when it passes keywords on (``**kwargs``),
    and to check the values, the env is built once with them (at its configured size) and closed."""
    try:
        entry = spec(env.id)
    except UnknownEnvError as exc:
        raise ConfigError(f"env.id: {exc}") from exc
    _check_vectorization(entry, env.vectorization)
    if not env.kwargs:
        return
    receiver, extra = _kwargs_receiver(entry, env.vectorization)
    accepted, open_ended = _named_parameters(receiver)
    unknown = sorted(set(env.kwargs) - set(accepted) - set(extra))
    if unknown and not open_ended:
        raise ConfigError(
            f"env.kwargs: {env.id} takes no keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(sorted(set(accepted) | set(extra)))}"
        )
    _probe_env(env, accepted)  # names a constructor passes on, and every value, only building can check


def _check_vectorization(entry: EnvEntry, vectorization: str) -> None:
    if vectorization == "native" and not entry.has_native_vector:
        raise ConfigError(
            f"env.vectorization: {entry.id} has no native batched core; use 'auto' or 'sync'"
            + ("" if entry.multi_agent else " (or 'async')")
        )
    if vectorization == "async" and entry.multi_agent:
        raise ConfigError(
            f"env.vectorization: {entry.id} is multi-agent and has no 'async' form; use 'auto' or 'sync'"
        )


def _kwargs_receiver(entry: EnvEntry, vectorization: str) -> tuple[Callable[..., Any], tuple[str, ...]]:
    """The callable ``make_vec`` hands ``env.kwargs`` to, and keywords taken on the way (gymnasium.make)."""
    native = entry.has_native_vector and (
        vectorization == "native"
        or (vectorization == "auto" and (entry.multi_agent or entry.family != "gymnasium"))
    )
    if native:
        return _load(entry.vector_entry_point), ()
    if entry.multi_agent:
        return _load(entry.entry_point), ()
    return _load(entry.entry_point), GYM_MAKE_KEYWORDS


def _load(entry_point: Any) -> Callable[..., Any]:
    return entry_point if callable(entry_point) else load_env_creator(entry_point)


def _named_parameters(receiver: Callable[..., Any]) -> tuple[list[str], bool]:
    """Keyword names ``receiver`` takes (``num_envs`` aside) and whether it also takes ``**kwargs``."""
    try:
        parameters = inspect.signature(receiver).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: only building can tell
        return [], True
    names = [
        p.name
        for p in parameters
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("self", "num_envs")
    ]
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)


def _probe_env(env: EnvConfig, named: list[str]) -> None:
    """Build the vector env with the kwargs; a constructor that refuses them gives a ConfigError naming
    them. It is built at its configured size, since some options constrain it (group sizes)."""
    try:
        make_vec(env.id, env.num_envs, vectorization=env.vectorization, **env.kwargs).close()
    except ImportError:  # an optional simulator that is not installed: not about the kwargs
        raise
    except Exception as exc:  # whatever the constructor raises for the values it was given
        message = str(exc) if isinstance(exc, TypeError | ValueError) else f"{type(exc).__name__}: {exc}"
        if "accepted" not in message and named:
            message += f" (named keywords of the constructor: {', '.join(named)})"
        raise ConfigError(
            f"env.kwargs: {env.id} cannot be built with {_shown(env.kwargs)}: {message}"
        ) from exc


def _shown(kwargs: dict[str, Any]) -> str:
    text = repr(kwargs)
    return text if len(text) <= 120 else text[:117] + "..."
