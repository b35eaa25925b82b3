"""MaskMA's downstream tasks (Liu et al., arXiv 2310.11846) as a stage of ``benchmarks/bench_maskma.py``.

Each trained MaskMA seed plays, decentralized and greedily, every case below with and without its
perturbation (the env options of ``rlsuite.envs.smac.downstream``); both sides of a case use the same battle
seeds (``rlsuite.training.zero_shot.evaluate_on_maps``), so they differ only by the perturbation:

* **ally malfunction**: agent 0 stops (``stop`` from then on) at env step ``MALFUNCTION_STEP``;
* **ad hoc team play**: the last agent is off the map until one fifth of the episode limit, then spawns at its
  start point (the paper's marine joining one fifth into the episode);
* **varied-policy collaboration**: the first half of the allies (rounded down) are driven by SMAC's scripted
  attack-nearest heuristic (``VariedPolicyTeamEnv``), the rest by MaskMA.

Results: ``OUT/downstream/<method>-seed<k>.json`` (one entry per case, written as each finishes, so a rerun
continues), ``OUT/downstream/heuristic.json`` (the all-heuristic team on the same maps, a reference) and
``OUT/downstream/report.md`` / ``report.json``: win rate % with a 95% percentile-bootstrap CI over battles
(all seeds pooled).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import rlsuite
from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.seeding import eval_seed
from rlsuite.core.stats import bootstrap_ci
from rlsuite.core.team import team_reset
from rlsuite.envs.smac.downstream import HeuristicTeamPolicy, VariedPolicyTeamEnv
from rlsuite.training.evaluation import evaluate_policy
from rlsuite.training.zero_shot import evaluate_on_maps

MALFUNCTION_STEP = 10
JOIN_FRACTION = 0.2
MALFUNCTION_MAPS = ("MMM", "2s3z", "1s3z", "2s4z", "3s4z")  # 3 training maps, 2 unseen
JOIN_MAPS = ("1s3z", "5m", "2s4z", "3s4z")
VARIED_MAPS = ("MMM", "2s3z", "1s3z", "2s4z", "3s4z")
TASKS = ("ally malfunction", "ad hoc team play", "varied-policy collaboration")


def env_id(name: str) -> str:
    return f"rlsuite/SMAC-{name}-v0"


@dataclass(frozen=True)
class DownstreamCase:
    """One map under one task's perturbation (``task == "none"``: the map as it is)."""

    task: str
    map: str
    agents: tuple[int, ...] = ()  # the perturbed agents
    downstream: dict[str, Any] = field(default_factory=dict)  # SMACVectorEnv's downstream options

    @property
    def key(self) -> str:
        return f"{self.task}|{self.map}"

    def env_kwargs(self) -> dict[str, Any]:
        return {"downstream": self.downstream} if self.downstream else {}

    def wrapper(self) -> Callable[[Any], Any] | None:
        if self.task != "varied-policy collaboration":
            return None
        agents = self.agents
        return lambda env: VariedPolicyTeamEnv(env, "heuristic", agents)


def agent_types(name: str) -> list[str]:
    """The unit type of every agent of map ``name``."""
    env = rlsuite.make_vec(env_id(name), 1, entity_features=True)
    obs, _ = team_reset(env, 0)
    names = env.team_spec.entities.unit_types
    types = [names[int(t)] for t in obs.entities.unit_type[0, : env.team_spec.n_agents]]
    env.close()
    return types


def downstream_cases() -> list[DownstreamCase]:
    """Every perturbed case, then one unperturbed case per map used."""
    cases = [
        DownstreamCase(
            "ally malfunction",
            m,
            (0,),
            {"malfunction_agents": [0], "malfunction_step": MALFUNCTION_STEP},
        )
        for m in MALFUNCTION_MAPS
    ]
    for m in JOIN_MAPS:
        last = len(agent_types(m)) - 1
        cases.append(
            DownstreamCase(
                "ad hoc team play", m, (last,), {"join_agents": [last], "join_fraction": JOIN_FRACTION}
            )
        )
    for m in VARIED_MAPS:
        cases.append(DownstreamCase("varied-policy collaboration", m, tuple(range(len(agent_types(m)) // 2))))
    maps = list(dict.fromkeys(c.map for c in cases))
    return cases + [DownstreamCase("none", m) for m in maps]


def run_downstream(
    checkpoint: Path, method: str, seed: int, cases: Sequence[DownstreamCase], episodes: int, out: Path
) -> dict[str, list[bool]]:
    """Wins per case key of one model, resumed from (and saved after each case to) its json file."""
    path = out / f"{method}-seed{seed}.json"
    done: dict[str, list[bool]] = json.loads(path.read_text()) if path.exists() else {}
    for case in cases:
        if case.key in done:
            continue
        (outcome,) = evaluate_on_maps(
            checkpoint,
            [env_id(case.map)],
            episodes,
            method=method,
            seed=seed,
            config_overrides={"execution": "decentralized"},
            env_kwargs=case.env_kwargs(),
            wrap_env=case.wrapper(),
        )
        if outcome.not_playable:
            raise SystemExit(f"bench_maskma --downstream: {case.key}: {outcome.not_playable}")
        done[case.key] = outcome.wins
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(done))
    return done


def heuristic_reference(maps: Sequence[str], seeds: Sequence[int], episodes: int, out: Path) -> dict:
    """Wins of the all-heuristic team per map (``episodes`` battles per seed; ``heuristic.json``)."""
    path = out / "heuristic.json"
    done: dict[str, list[bool]] = json.loads(path.read_text()) if path.exists() else {}
    for name in maps:
        if name in done:
            continue
        env = rlsuite.make_vec(env_id(name), min(16, episodes))
        wins = []
        for seed in seeds:
            result = evaluate_policy(HeuristicTeamPolicy(env), env, episodes, seed=eval_seed(seed, 0))
            wins += [bool(w) for w in result.wins]
        env.close()
        done[name] = wins
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(done))
    return done


@dataclass
class DownstreamRow:
    task: str
    map: str
    perturbed: str  # who is perturbed, e.g. "agent 0 (stalker)"
    without: tuple[float, float, float]  # win rate, CI low, CI high
    with_perturbation: tuple[float, float, float]
    battles: int
    heuristic_team: float | None


def _rate(wins: list[bool]) -> tuple[float, float, float]:
    values = np.asarray(wins, dtype=float)
    low, high = bootstrap_ci(values, "mean", resamples=2000, seed=0)
    return float(values.mean()), low, high


def downstream_report(
    cases: Sequence[DownstreamCase], results: Sequence[dict[str, list[bool]]], heuristic: dict, out: Path
) -> Path:
    """``report.md`` / ``report.json`` in ``out``: each case without and with its perturbation."""
    rows = []
    for case in cases:
        if case.task == "none":
            continue
        base = [w for r in results for w in r[DownstreamCase("none", case.map).key]]
        perturbed = [w for r in results for w in r[case.key]]
        types = agent_types(case.map)
        who = ", ".join(f"{a} ({types[a]})" for a in case.agents)
        ref = float(np.mean(heuristic[case.map])) if case.map in heuristic else None
        rows.append(
            DownstreamRow(case.task, case.map, who, _rate(base), _rate(perturbed), len(perturbed), ref)
        )
    atomic_write_text(out / "report.json", json.dumps([asdict(r) for r in rows], indent=2))
    path = out / "report.md"
    atomic_write_text(path, downstream_markdown(rows))
    return path


def downstream_markdown(rows: Sequence[DownstreamRow]) -> str:
    def show(rate: tuple[float, float, float]) -> str:
        return f"{100 * rate[0]:.1f} [{100 * rate[1]:.1f}, {100 * rate[2]:.1f}]"

    lines = [
        "## Downstream tasks (MaskMA, decentralized execution)",
        "",
        f"Win rate % [95% bootstrap CI], all seeds pooled. Malfunction: the agent stops at env step "
        f"{MALFUNCTION_STEP}; ad hoc: the agent joins at {JOIN_FRACTION:g} of the episode limit; varied "
        "policy: the agents are driven by the scripted attack-nearest heuristic. Heuristic team: every agent "
        "scripted, unperturbed (reference).",
        "",
        "| task | map | perturbed agents | without | with | battles | heuristic team |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = "" if r.heuristic_team is None else f"{100 * r.heuristic_team:.1f}"
        lines.append(
            f"| {r.task} | {r.map} | {r.perturbed} | {show(r.without)} | {show(r.with_perturbation)} "
            f"| {r.battles} | {ref} |"
        )
    return "\n".join(lines) + "\n"
