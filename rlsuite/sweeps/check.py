"""The pre-launch check: every algorithm × env pair is possible and every run config is valid.

Nothing starts until the whole sweep passes, so a typo or an impossible pair (SAC on a discrete-action
env, a peer whose library is missing) is reported at once, all problems together, rather than as the
fifth failed run an hour in.
"""

from __future__ import annotations

from typing import Any

from rlsuite.algos import ALGORITHM_CONFIGS
from rlsuite.config import ConfigError, ExperimentConfig, build_experiment
from rlsuite.envs.registry import make, spec
from rlsuite.sweeps.spec import Sweep, SweepError


def check_sweep(sweep: Sweep) -> dict[str, ExperimentConfig]:
    """Validate ``sweep``; return each run's config by run id, or raise listing every problem."""
    pair_problems = _pair_problems(sweep)
    problems = [f"{algo} × {env}: {p}" for (algo, env), found in pair_problems.items() for p in found]
    configs: dict[str, ExperimentConfig] = {}
    for run in sweep.runs:
        if pair_problems[(run.algo, run.env)]:
            continue
        try:
            configs[run.id] = build_experiment(run.data, algo_registry=ALGORITHM_CONFIGS)
        except ConfigError as exc:
            problems.append(f"{run.label} × {run.env}: {exc}")  # seeds of one pair fail alike: listed once
            continue
        problems += [f"{run.label} × {run.env}: {p}" for p in _algorithm_config_problems(run, configs)]
    if problems:
        unique = list(dict.fromkeys(problems))
        raise SweepError(
            f"sweep {sweep.name!r} cannot run ({len(unique)} problem(s)); no run was started:\n  "
            + "\n  ".join(unique)
        )
    return configs


def _pair_problems(sweep: Sweep) -> dict[tuple[str, str], list[str]]:
    """Per (algorithm, env) pair, why it is impossible: unknown names, a missing library, the spaces."""
    from rlsuite.algos import get_algorithm

    probes: dict[str, tuple[Any, bool] | str] = {}  # env id -> (action space, multi-agent) or the error
    problems: dict[tuple[str, str], list[str]] = {}
    for algo_name, env_id in sweep.pairs():
        if env_id not in probes:
            try:
                probes[env_id] = _probe(env_id)
            except Exception as exc:  # unknown id, missing optional simulator, bad env kwargs
                probes[env_id] = f"cannot build the env ({_message(exc)})"
        try:
            algo_cls = get_algorithm(algo_name)
        except (KeyError, ImportError) as exc:
            problems[(algo_name, env_id)] = [_message(exc)]
            continue
        probe = probes[env_id]
        problems[(algo_name, env_id)] = (
            [probe] if isinstance(probe, str) else algo_cls.capabilities.problems(*probe)
        )
    return problems


def _algorithm_config_problems(run: Any, configs: dict[str, ExperimentConfig]) -> list[str]:
    """What ``rlsuite train`` would refuse before its first step (see rlsuite.training.preflight)."""
    from rlsuite.training.preflight import check_experiment

    try:
        check_experiment(configs[run.id])
    except ConfigError as exc:
        return [str(exc)]
    except ImportError as exc:
        return [_message(exc)]
    return []


def _probe(env_id: str) -> tuple[Any, bool]:
    """The action space of one agent and whether the env is multi-agent."""
    entry = spec(env_id)
    env = make(env_id)
    try:
        if entry.multi_agent:
            return env.action_space(env.possible_agents[0]), True
        return env.action_space, False
    finally:
        env.close()


def _message(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return str(text)
