"""Zero-shot evaluation over many maps: one model per seed, played on each map, tabled with bootstrap CIs.

:func:`evaluate_on_maps` plays a run's checkpoint on a list of env ids (``Algorithm.for_evaluation``: only the
model is loaded, so it may act on maps it never saw); a map whose shapes the model cannot take (a MADT-style
per-map head on another action count) is recorded as *not playable* with the reason, not as a loss.
:func:`zero_shot_report` tables win rates per method and map (battles of all seeds pooled, 95% percentile
bootstrap CI over battles) and per group of maps (``training``, ``unseen, training family``,
``out of family``): the average over the group's playable maps, with a stratified bootstrap CI (battles
resampled within each map, :func:`rlsuite.core.stats.stratified_bootstrap_ci`).

A *reference* method (e.g. the scripted expert that recorded the training data, played on every map by
:func:`evaluate_scripted_on_maps`) adds one more average: over the unseen maps that the reference itself wins
at least ``solved_at`` of the time, so a reader sees how much of what the expert can do transfers, apart from
the maps that nothing in the data shows how to win.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.stats import bootstrap_ci, stratified_bootstrap_ci

GROUPS = ("training", "unseen, training family", "out of family")
ALL_UNSEEN = "all unseen"  # summary row: every map that is not a training map


@dataclass
class MapOutcome:
    """One model (method, seed) on one map: the battles won, or why it could not play there."""

    method: str
    seed: int
    env_id: str
    wins: list[bool] = field(default_factory=list)
    not_playable: str = ""  # the reason, when the model cannot act on this map


def evaluate_on_maps(
    checkpoint: str | Path,
    env_ids: Sequence[str],
    episodes: int,
    *,
    method: str,
    seed: int,
    device: str = "cpu",
    config_overrides: Mapping[str, Any] | None = None,
    num_envs: int = 16,
    env_kwargs: Mapping[str, Any] | None = None,
    wrap_env: Callable[[Any], Any] | None = None,
) -> list[MapOutcome]:
    """Play ``checkpoint`` greedily for ``episodes`` battles on every env of ``env_ids``.

    ``env_kwargs`` go to every env's constructor (e.g. ``{"downstream": {...}}``, MaskMA's downstream
    tasks); ``wrap_env`` wraps each eval env (e.g. ``lambda env: VariedPolicyTeamEnv(env, "heuristic",
    (0,))``). Battles are seeded as :meth:`Algorithm.evaluate` seeds them, so runs with and without a
    perturbation start from the same battles.
    """
    from rlsuite.algos.base import Algorithm
    from rlsuite.config import EvalConfig

    outcomes = []
    for env_id in env_ids:
        try:
            algo = Algorithm.for_evaluation(
                checkpoint,
                env_id,
                device=device,
                config_overrides=dict(config_overrides or {}),
                env_kwargs=dict(env_kwargs or {}),
            )
        except ValueError as exc:
            outcomes.append(MapOutcome(method, seed, env_id, not_playable=str(exc)))
            continue
        try:
            algo.eval_config = EvalConfig(episodes=episodes, num_envs=min(num_envs, episodes))
            algo.eval_env_wrapper = wrap_env
            with torch.inference_mode():
                result = algo.evaluate(episodes, deterministic=True)
        except ValueError as exc:  # the policy refused the env (bind_env)
            outcomes.append(MapOutcome(method, seed, env_id, not_playable=str(exc)))
            continue
        finally:
            algo.close()
        outcomes.append(MapOutcome(method, seed, env_id, [bool(w) for w in result.wins]))
    return outcomes


def evaluate_scripted_on_maps(
    kind: str, env_ids: Sequence[str], episodes: int, *, seed: int = 0, num_envs: int = 16
) -> list[MapOutcome]:
    """A scripted SMAC policy (a name of ``rlsuite.envs.smac.downstream.SCRIPTED_POLICIES``, reading the
    whole battle) played greedily for ``episodes`` battles (seeded with ``seed``) on every map; method
    ``f"expert: {kind}"``."""
    from rlsuite.offline.team_collect import expert_source, play_expert

    return [
        MapOutcome(
            f"expert: {kind}",
            seed,
            env_id,
            play_expert(expert_source(kind, env_id), episodes, seed=seed, num_envs=num_envs),
        )
        for env_id in env_ids
    ]


@dataclass
class Cell:
    win_rate: float | None  # None: not playable
    ci_low: float | None = None
    ci_high: float | None = None
    battles: int = 0
    note: str = ""


@dataclass
class ZeroShotReport:
    methods: list[str]
    maps: list[str]
    groups: dict[str, str]  # env id -> group
    cells: dict[str, dict[str, Cell]]  # method -> env id -> cell
    averages: dict[str, dict[str, Cell]]  # method -> group -> cell
    solved_group: str = ""  # the reference's row label ("" without a reference); also a key of averages
    solved_maps: list[str] = field(default_factory=list)  # unseen maps the reference wins >= solved_at

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def markdown(self) -> str:
        head = "| map | group | " + " | ".join(self.methods) + " |"
        lines = [head, "|" + "---|" * (len(self.methods) + 2)]
        for env_id in self.maps:
            cells = [_show(self.cells[m][env_id]) for m in self.methods]
            lines.append(f"| {short_name(env_id)} | {self.groups[env_id]} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| average | " + " | ".join(self.methods) + " |",
            "|" + "---|" * (len(self.methods) + 1),
        ]
        for group in (*GROUPS, ALL_UNSEEN):
            if any(_in_group(g, group) for g in self.groups.values()):
                lines.append(
                    f"| {group} | " + " | ".join(_show(self.averages[m][group]) for m in self.methods) + " |"
                )
        if self.solved_group:
            row = " | ".join(_show(self.averages[m][self.solved_group]) for m in self.methods)
            lines.append(f"| {self.solved_group} ({len(self.solved_maps)} maps) | {row} |")
        return "\n".join(lines) + "\n"


def short_name(env_id: str) -> str:
    """``rlsuite/SMAC-3m-v0`` -> ``3m`` (other ids unchanged)."""
    name = env_id.rpartition("/")[2]
    if name.startswith("SMAC-") and name.endswith("-v0"):
        return name[5:-3]
    return name


def _show(cell: Cell) -> str:
    if cell.win_rate is None:
        return "n/a"
    return f"{100 * cell.win_rate:.1f} [{100 * cell.ci_low:.1f}, {100 * cell.ci_high:.1f}]"


def zero_shot_report(
    outcomes: Sequence[MapOutcome],
    groups: Mapping[str, str],
    *,
    resamples: int = 2000,
    seed: int = 0,
    reference: str | None = None,
    solved_at: float = 0.8,
) -> ZeroShotReport:
    """Per-map and per-group win rates (percentile-bootstrap 95% CIs) of every method in ``outcomes``;
    with ``reference`` (one of the methods), also the average over the unseen maps that it wins at least
    ``solved_at`` of the time."""
    bad = sorted({g for g in groups.values() if g not in GROUPS})
    if bad:
        raise ValueError(f"map groups {bad} are not among {GROUPS}")
    methods = list(dict.fromkeys(o.method for o in outcomes))
    if reference is not None and reference not in methods:
        raise ValueError(f"reference {reference!r} is not among the methods {methods}")
    maps = [m for m in groups if any(o.env_id == m for o in outcomes)]
    by_method = {method: [o for o in outcomes if o.method == method] for method in methods}
    cells = {
        method: {env_id: _cell([o for o in mine if o.env_id == env_id], resamples, seed) for env_id in maps}
        for method, mine in by_method.items()
    }
    selections = {group: [m for m in maps if _in_group(groups[m], group)] for group in (*GROUPS, ALL_UNSEEN)}
    solved_group, solved = "", []
    if reference is not None:
        solved_group = f"unseen, {reference} wins >= {100 * solved_at:.0f}%"
        solved = [m for m in selections[ALL_UNSEEN] if (cells[reference][m].win_rate or 0.0) >= solved_at]
        selections[solved_group] = solved
    averages = {
        method: {
            group: _average(mine, env_ids, cells[method], resamples, seed)
            for group, env_ids in selections.items()
        }
        for method, mine in by_method.items()
    }
    return ZeroShotReport(methods, maps, dict(groups), cells, averages, solved_group, solved)


def _average(
    outcomes: Sequence[MapOutcome],
    env_ids: Sequence[str],
    cells: Mapping[str, Cell],
    resamples: int,
    seed: int,
) -> Cell:
    """The mean win rate over the playable maps of ``env_ids``, with a stratified bootstrap CI."""
    battles = [
        np.concatenate([o.wins for o in outcomes if o.env_id == env_id]).astype(float)
        for env_id in env_ids
        if cells[env_id].win_rate is not None
    ]
    if not battles:
        return Cell(None, note="no playable map")
    low, high = stratified_bootstrap_ci(battles, "mean", resamples=resamples, seed=seed)
    return Cell(float(np.mean([b.mean() for b in battles])), low, high, sum(len(b) for b in battles))


def _in_group(map_group: str, group: str) -> bool:
    return map_group != "training" if group == ALL_UNSEEN else map_group == group


def _cell(outcomes: Sequence[MapOutcome], resamples: int, seed: int) -> Cell:
    wins = [w for o in outcomes if not o.not_playable for w in o.wins]
    if not wins:
        note = next((o.not_playable for o in outcomes if o.not_playable), "not evaluated")
        return Cell(None, note=note)
    low, high = bootstrap_ci(np.asarray(wins, dtype=float), "mean", resamples=resamples, seed=seed)
    return Cell(float(np.mean(wins)), low, high, len(wins))


def write_zero_shot_report(
    report: ZeroShotReport, out_dir: str | Path, title: str = "Zero-shot win rates"
) -> Path:
    """``report.md`` (tables: win rate % [95% CI]) and ``report.json`` in ``out_dir``; returns the .md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.json", report.to_json())
    text = f"# {title}\n\nWin rate %, [95% bootstrap CI]; n/a: the model cannot act on the map.\n\n"
    path = out / "report.md"
    atomic_write_text(path, text + report.markdown())
    return path
