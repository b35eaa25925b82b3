"""The expert-data pipeline for cross-map learners (MaskMA): train experts, gate them, record datasets.

``rlsuite data pipeline PIPELINE.yaml`` runs, for each training map of the pipeline file, in order:

1. **expert**: the map's attempts (``experts/<map>.yaml`` beside the pipeline file; the pipeline key
   ``experts`` names another folder), one after the other,
   until one wins at least ``min_win_rate`` of ``eval_episodes`` greedy battles. An attempt trains a suite
   learner (``train:`` an experiment file, ``steps:`` its budget; a later attempt with the same ``name``
   resumes that run to a larger budget: "retrain longer") or names a scripted policy
   (``policy: heuristic``, attack-nearest, or ``policy: focus_fire`` and its variants: the names of
   ``rlsuite.envs.smac.downstream.SCRIPTED_POLICIES``);
2. **data**: ``episodes`` episodes of the accepted expert (greedy, ``epsilon``, ``action_noise``: random
   actions executed while the expert's own are recorded, see ``collect_team_episodes``) into
   ``data/<map>.npz`` (:mod:`rlsuite.offline.team_data`), its metadata naming the expert and its
   measured win rate.

Every finished step leaves an atomic JSON marker in ``<out>/stages/`` (an attempt's result, the accepted
expert, the dataset), so running the command again skips what is done; an interrupted training run is
resumed from its last checkpoint (``resume=auto``). A map none of whose attempts passes is reported and
gets no dataset. Pipeline and expert files: docs/maskma.md (Data).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.strict_yaml import load_strict
from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES

SETTING_KEYS = (  # PipelineConfig fields a pipeline file may set
    "episodes",
    "eval_episodes",
    "min_win_rate",
    "epsilon",
    "action_noise",
    "seed",
    "num_envs",
)
PIPELINE_KEYS = ("out", "maps", *SETTING_KEYS, "experts")
ATTEMPT_KEYS = ("name", "train", "steps", "overrides", "policy")


@dataclass(frozen=True)
class ExpertAttempt:
    """One way to get an expert: train ``train`` for ``steps`` env steps, or the scripted ``policy``."""

    name: str
    train: str = ""  # experiment file (relative paths: from the expert file's folder)
    steps: int = 0
    overrides: tuple[str, ...] = ()
    policy: str = ""  # a scripted policy: "heuristic" (attack-nearest), "focus_fire", ... (SCRIPTED_POLICIES)


@dataclass(frozen=True)
class PipelineConfig:
    """A pipeline file's settings (see the module docstring)."""

    out: Path
    maps: tuple[str, ...]
    attempts: dict[str, tuple[ExpertAttempt, ...]]
    episodes: int = 300
    eval_episodes: int = 64
    min_win_rate: float = 0.8
    epsilon: float = 0.0
    action_noise: float = 0.0
    seed: int = 0
    num_envs: int = 8


@dataclass
class MapReport:
    """What the pipeline did for one map (printed at the end and kept in ``<out>/summary.json``)."""

    map: str
    expert: str = ""
    win_rate: float | None = None
    dataset: str = ""
    episodes: int = 0
    expert_wall_s: float = 0.0
    data_wall_s: float = 0.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    skipped: bool = False


def load_pipeline(path: str | os.PathLike) -> PipelineConfig:
    """Read a pipeline file and each map's ``experts/<map>.yaml``; errors name the file and the key."""
    path = Path(path)
    raw = _mapping(load_strict(path.read_text()), path)
    _only_keys(raw, PIPELINE_KEYS, path)
    for key in ("out", "maps"):
        if key not in raw:
            raise ValueError(f"{path}: missing key {key!r}")
    maps = raw["maps"]
    if not isinstance(maps, list) or not maps or not all(isinstance(m, str) for m in maps):
        raise ValueError(f"{path}: 'maps' must be a non-empty list of map names")
    experts = raw.get("experts", "experts")
    if not isinstance(experts, str) or not experts:
        raise ValueError(f"{path}: 'experts' must be a folder name beside the pipeline file, e.g. experts")
    attempts = {name: _load_attempts(path.parent / experts / f"{name}.yaml") for name in maps}
    out = Path(raw["out"])
    config = PipelineConfig(
        out=out if out.is_absolute() else Path.cwd() / out,
        maps=tuple(maps),
        attempts=attempts,
        **{k: raw[k] for k in SETTING_KEYS if k in raw},
    )
    if config.episodes < 1 or config.eval_episodes < 1 or not 0 < config.min_win_rate <= 1:
        raise ValueError(f"{path}: episodes and eval_episodes must be >= 1, min_win_rate in (0, 1]")
    from rlsuite.offline.team_collect import check_chances

    try:
        check_chances(epsilon=config.epsilon, action_noise=config.action_noise)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return config


def _load_attempts(path: Path) -> tuple[ExpertAttempt, ...]:
    if not path.is_file():
        raise FileNotFoundError(
            f"expert file {path} does not exist (one per map in the pipeline's experts folder)"
        )
    raw = _mapping(load_strict(path.read_text()), path)
    _only_keys(raw, ("attempts",), path)
    items = raw.get("attempts")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: 'attempts' must be a non-empty list")
    attempts = []
    for i, item in enumerate(items):
        item = _mapping(item, f"{path} attempt {i}")
        _only_keys(item, ATTEMPT_KEYS, f"{path} attempt {i}")
        if bool(item.get("train")) == bool(item.get("policy")):
            raise ValueError(
                f"{path} attempt {i}: give either 'train' (with 'steps') or 'policy: "
                f"{'|'.join(SCRIPTED_POLICIES)}'"
            )
        if item.get("policy") not in (None, *SCRIPTED_POLICIES):
            raise ValueError(
                f"{path} attempt {i}: policy {item['policy']!r}; "
                f"scripted policies: {', '.join(SCRIPTED_POLICIES)}"
            )
        train = item.get("train", "")
        if train:
            train = str((path.parent / train).resolve())
            if int(item.get("steps", 0)) < 1:
                raise ValueError(f"{path} attempt {i}: 'steps' must be >= 1 for a training attempt")
        overrides = tuple(f"{k}={v}" for k, v in (item.get("overrides") or {}).items())
        name = str(item.get("name") or item.get("policy") or f"attempt{i}")
        attempts.append(
            ExpertAttempt(name, train, int(item.get("steps", 0)), overrides, item.get("policy", ""))
        )
    return tuple(attempts)


def _mapping(value: Any, where: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping of keys, got {type(value).__name__}")
    return value


def _only_keys(raw: dict, known: tuple[str, ...], where: Any) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; accepted: {', '.join(known)}")


class Pipeline:
    """Runs a :class:`PipelineConfig`, skipping the stages whose markers exist."""

    def __init__(self, config: PipelineConfig, *, quiet: bool = False) -> None:
        self.config, self.quiet = config, quiet
        self.stages = config.out / "stages"

    def run(self) -> list[MapReport]:
        reports = [self.run_map(name) for name in self.config.maps]
        summary = [asdict(r) for r in reports]
        atomic_write_text(self.config.out / "summary.json", json.dumps(summary, indent=2) + "\n")
        return reports

    def run_map(self, name: str) -> MapReport:
        report = MapReport(name)
        data_marker = self._marker(name, "data")
        if data_marker:
            return MapReport(**{**data_marker, "skipped": True})
        expert = self._marker(name, "expert") or self._find_expert(name, report)
        if expert is None:
            self._say(f"{name}: no attempt reached win rate {self.config.min_win_rate}; no dataset")
            return report
        report.expert, report.win_rate = expert["expert"], expert["win_rate"]
        report.expert_wall_s, report.attempts = expert["expert_wall_s"], expert["attempts"]
        started = time.monotonic()
        self._record(name, expert, report)
        report.data_wall_s = time.monotonic() - started
        self._write_marker(name, "data", asdict(report))
        self._say(
            f"{name}: {report.episodes} episodes -> {report.dataset} "
            f"(expert {report.expert}, win rate {report.win_rate:.2f}; {report.data_wall_s:.0f}s)"
        )
        return report

    # --- expert ---------------------------------------------------------------------------------------
    def _find_expert(self, name: str, report: MapReport) -> dict[str, Any] | None:
        total = 0.0
        for index, attempt in enumerate(self.config.attempts[name]):
            result = self._marker(name, f"attempt{index}") or self._try(name, index, attempt)
            report.attempts.append(result)
            total += result["wall_s"]
            if result["accepted"]:
                expert = {**result, "expert_wall_s": total, "attempts": report.attempts}
                self._write_marker(name, "expert", expert)
                return expert
        return None

    def _try(self, name: str, index: int, attempt: ExpertAttempt) -> dict[str, Any]:
        from rlsuite.offline.team_collect import expert_source, measure_win_rate

        started = time.monotonic()
        env_id = f"rlsuite/SMAC-{name}-v0"
        if attempt.policy:
            policy = attempt.policy
        else:
            policy = str(self._train(name, attempt))
        source = expert_source(policy, env_id)
        seed = self.config.seed + 7919
        rate = measure_win_rate(source, self.config.eval_episodes, seed=seed, num_envs=self.config.num_envs)
        result = {
            "attempt": index,
            "name": attempt.name,
            "expert": source.name,
            "algo": source.algo,
            "policy": policy,
            "steps": attempt.steps,
            "win_rate": rate,
            "eval_episodes": self.config.eval_episodes,
            "accepted": rate >= self.config.min_win_rate,
            "wall_s": time.monotonic() - started,
        }
        self._write_marker(name, f"attempt{index}", result)
        verdict = "accepted" if result["accepted"] else "rejected"
        self._say(f"{name}: attempt {index} ({attempt.name}) win rate {rate:.2f} -> {verdict}")
        return result

    def _train(self, name: str, attempt: ExpertAttempt) -> Path:
        """Train (or resume) the attempt's run to its step budget in a child process; its run folder."""
        run_dir = self.config.out / "experts" / name / attempt.name
        command = [
            sys.executable,
            "-m",
            "rlsuite.cli",
            "train",
            attempt.train,
            f"env.id=rlsuite/SMAC-{name}-v0",
            f"run_dir={run_dir}",
            f"total_steps={attempt.steps}",
            f"seed={self.config.seed}",
            "resume=auto",
            *attempt.overrides,
            "--quiet",
        ]
        self._say(f"{name}: training {attempt.name} for {attempt.steps} steps in {run_dir}")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{name}: training {attempt.name} failed: " + " | ".join(tail))
        return run_dir

    # --- data -----------------------------------------------------------------------------------------
    def _record(self, name: str, expert: dict[str, Any], report: MapReport) -> None:
        from rlsuite.offline.team_collect import collect_team_dataset, expert_source
        from rlsuite.offline.team_data import save_team_dataset

        source = expert_source(expert["policy"], f"rlsuite/SMAC-{name}-v0")
        dataset = collect_team_dataset(
            source,
            self.config.episodes,
            seed=self.config.seed,
            epsilon=self.config.epsilon,
            action_noise=self.config.action_noise,
            eval_episodes=expert["eval_episodes"],
            num_envs=self.config.num_envs,
            win_rate=expert["win_rate"],
            progress=not self.quiet,
        )
        path = save_team_dataset(self.config.out / "data" / f"{name}.npz", dataset)
        report.dataset, report.episodes = str(path), dataset.num_episodes

    # --- markers --------------------------------------------------------------------------------------
    def _marker(self, name: str, stage: str) -> dict[str, Any] | None:
        path = self.stages / f"{name}.{stage}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def _write_marker(self, name: str, stage: str, value: dict[str, Any]) -> None:
        atomic_write_text(self.stages / f"{name}.{stage}.json", json.dumps(value, indent=2) + "\n")

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


def run_pipeline(path: str | os.PathLike, *, quiet: bool = False) -> list[MapReport]:
    """Load and run a pipeline file (resumable: finished stages are skipped)."""
    return Pipeline(load_pipeline(path), quiet=quiet).run()
