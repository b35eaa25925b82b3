"""Why MaskMA plays 3m badly: checks of the 3m expert data and behaviour cloning on 3m alone.

    python benchmarks/diag_maskma_3m.py --data runs/maskma_data/data/3m.npz --out runs/diag_3m [--steps 600]
        [--with-maps OTHER.npz ...] [--checkpoint RUN/final.pt ...]

1. **Layout**: the dataset's entity-layout actions against its env-layout actions and the env's
   ``entity_action_target`` mapping (both ways), and whether every taken action is available under the mask
   recorded with it (a row misalignment would break this).
2. **The expert's targets**: how often an attack goes to the lowest-index / nearest / weakest enemy the agent
   can attack, and how often all attacking agents share one target (focus fire).
3. **Behaviour cloning on 3m alone** (250 episodes train, 50 held out): action accuracy on held-out steps in
   centralized and decentralized views, and greedy win rate over ``--battles`` battles in both modes; the
   same for every ``--checkpoint`` given (e.g. the benchmark's 10-map models).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlsuite.agents.maskma import masked_logits
from rlsuite.agents.unit_views import view_attention
from rlsuite.algos.team_steps import MapData
from rlsuite.core.team import EntityObservation
from rlsuite.offline.team_data import entity_layout_actions, load_team_dataset, save_team_dataset

K = 6


def layout_checks(steps: dict) -> dict:
    actions, target = steps["actions"].astype(np.int64), steps["entity_action_target"].astype(np.int64)
    entity = steps["entity_actions"].astype(np.int64)
    converted = entity_layout_actions(actions, target, K)
    rows = EntityObservation(
        steps["entity_state"],
        steps["entity_pos"],
        steps["entity_range"],
        steps["entity_alive"],
        steps["entity_enemy"],
        steps["entity_type"].astype(np.int64),
        steps["entity_visible"],
        steps["entity_action_mask"],
        target,
    )
    alive = steps["entity_alive"][:, : actions.shape[1]]
    env_ok = np.take_along_axis(steps["action_mask"], actions[..., None], -1)[..., 0]
    ent_ok = np.take_along_axis(steps["entity_action_mask"], entity[..., None], -1)[..., 0]
    attack = entity >= K
    tgt = np.clip(entity - K, 0, None)
    tgt_alive = np.take_along_axis(steps["entity_alive"], tgt, -1)
    tgt_enemy = np.take_along_axis(steps["entity_enemy"], tgt, -1)
    return {
        "agent_steps": int(actions.size),
        "entity_actions_equal_converted": float((converted == entity).mean()),
        "round_trip_env_actions_equal": float((rows.env_actions(entity) == actions).mean()),
        "env_action_available": float(env_ok.mean()),
        "entity_action_available": float(ent_ok.mean()),
        "alive_agent_steps": int(alive.sum()),
        "attack_share_of_alive_actions": float(attack[alive].mean()),
        "attack_targets_alive_enemy": float((tgt_alive & tgt_enemy)[attack].mean()),
    }


def target_stats(steps: dict, feature_names: tuple[str, ...]) -> dict:
    n = steps["actions"].shape[1]
    entity = steps["entity_actions"].astype(np.int64)
    mask = steps["entity_action_mask"][:, :, K:]  # [T, n, E] attackable
    pos, health = steps["entity_pos"], steps["entity_state"][..., feature_names.index("health")]
    lowest = nearest = weakest = attacks = 0
    for t, i in zip(*np.nonzero(entity >= K)):
        options = np.flatnonzero(mask[t, i])
        if len(options) < 2:
            continue
        j = entity[t, i] - K
        attacks += 1
        lowest += j == options.min()
        dist = np.linalg.norm(pos[t, options] - pos[t, i], axis=-1)
        nearest += j == options[dist.argmin()]
        weakest += health[t, j] <= health[t, options].min() + 1e-6
    attacking = entity >= K
    multi = attacking.sum(1) >= 2
    same = np.array([len(set(entity[t][attacking[t]])) == 1 for t in np.flatnonzero(multi)])
    return {
        "attacks_with_choice": attacks,
        "target_lowest_index": lowest / max(attacks, 1),
        "target_nearest": nearest / max(attacks, 1),
        "target_weakest": weakest / max(attacks, 1),
        "steps_with_2plus_attackers": int(multi.sum()),
        "all_attackers_same_target": float(same.mean()) if len(same) else None,
        "n_agents": n,
    }


def predicted_targets(net, data: MapData, columns) -> dict:
    """The decentralized greedy choices where the expert attacked with a choice of targets."""
    steps = data.unit_steps(np.arange(data.n_steps), columns, torch.device("cpu"))
    with torch.no_grad():
        logits = masked_logits(net.decentralized_logits(steps.units, steps.visible), steps.action_mask)
    predicted = logits.argmax(-1).numpy()
    expert = steps.actions.numpy()
    choices = steps.action_mask[:, :, K:].numpy().sum(-1) >= 2
    rows = (expert >= K) & choices
    pos = data.steps["entity_pos"]
    health = data.steps["entity_state"][..., list(data.meta.feature_names).index("health")]
    same = nearest = weakest = attack = 0
    for t, i in zip(*np.nonzero(rows)):
        p = predicted[t, i]
        if p < K:
            continue
        attack += 1
        options = np.flatnonzero(steps.action_mask[t, i, K:].numpy())
        same += p == expert[t, i]
        nearest += p - K == options[np.linalg.norm(pos[t, options] - pos[t, i], axis=-1).argmin()]
        weakest += health[t, p - K] <= health[t, options].min() + 1e-6
    total = int(rows.sum())
    return {
        "expert_attack_steps_with_choice": total,
        "predicted_attack": attack / max(total, 1),
        "predicted_same_target": same / max(attack, 1),
        "predicted_nearest": nearest / max(attack, 1),
        "predicted_weakest": weakest / max(attack, 1),
    }


def accuracy(net, data: MapData, columns, execution: str) -> float:
    rows = np.arange(data.n_steps)
    steps = data.unit_steps(rows, columns, torch.device("cpu"))
    n, units = steps.n_agents, steps.units
    with torch.no_grad():
        if execution == "centralized":
            logits = net.joint_logits(units, view_attention(units.alive), units.alive, n)
        else:
            logits = net.decentralized_logits(units, steps.visible)
    logits = masked_logits(logits, steps.action_mask)
    alive = units.alive[:, :n]
    return float((logits.argmax(-1) == steps.actions)[alive].float().mean())


def evaluate(checkpoint: Path, held_out: Path, battles: int) -> dict:
    from rlsuite.algos.base import Algorithm
    from rlsuite.training.zero_shot import evaluate_on_maps

    out = {}
    for execution in ("centralized", "decentralized"):
        algo = Algorithm.for_evaluation(checkpoint, "rlsuite/SMAC-3m-v0", device="cpu")
        data = MapData(load_team_dataset(held_out), algo.net.shape.unit_types)
        cols = data.columns(algo.net.shape.token_features)
        out[f"heldout_accuracy_{execution}"] = accuracy(algo.net, data, cols, execution)
        if execution == "decentralized":
            out["heldout_targets"] = predicted_targets(algo.net, data, cols)
        algo.close()
        (outcome,) = evaluate_on_maps(
            checkpoint,
            ["rlsuite/SMAC-3m-v0"],
            battles,
            method="m",
            seed=0,
            config_overrides={"execution": execution},
        )
        out[f"win_rate_{execution}"] = float(np.mean(outcome.wins))
    return out


def train_3m(train_files: list[Path], out: Path, steps: int, overrides: dict) -> Path:
    from rlsuite.algos import get_algorithm
    from rlsuite.config import EnvConfig, EvalConfig

    final = out / "final.pt"
    if final.exists():
        return final
    cls = get_algorithm("maskma")
    config = cls.config_cls(datasets=[str(f) for f in train_files], **overrides)
    algo = cls(EnvConfig(id="rlsuite/SMAC-3m-v0", num_envs=8), config, seed=0, device="cpu",
               eval_config=EvalConfig(episodes=8))  # fmt: skip
    algo.learn(steps)
    out.mkdir(parents=True, exist_ok=True)
    algo.save(final)
    algo.close()
    return final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("runs/maskma_data/data/3m.npz"))
    parser.add_argument("--out", type=Path, default=Path("runs/diag_3m"))
    parser.add_argument("--steps", type=int, nargs="*", default=[600])
    parser.add_argument("--battles", type=int, default=32)
    parser.add_argument("--checkpoint", type=Path, nargs="*", default=[])
    parser.add_argument("--set", nargs="*", default=[], help="MaskMA config overrides key=json")
    parser.add_argument(
        "--with-maps", type=Path, nargs="*", default=[], help="datasets of other maps to train with"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_team_dataset(args.data)
    report = {
        "layout": layout_checks(data.steps),
        "targets": target_stats(data.steps, data.meta.feature_names),
    }
    print(json.dumps(report, indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    train_file, held_out = args.out / "train.npz", args.out / "heldout.npz"
    if not held_out.exists():
        save_team_dataset(train_file, data.select(np.arange(250)))
        save_team_dataset(held_out, data.select(np.arange(250, data.num_episodes)))
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    tag = "-".join(f"{k}{v}" for k, v in overrides.items()) or "default"
    if args.with_maps:
        tag += "-with-" + "-".join(p.stem for p in args.with_maps)
    for steps in args.steps:
        ckpt = train_3m([train_file, *args.with_maps], args.out / f"bc3m-{tag}-{steps}", steps, overrides)
        report[f"bc_3m_{tag}_{steps}_steps"] = evaluate(ckpt, held_out, args.battles)
        print(json.dumps(report[f"bc_3m_{tag}_{steps}_steps"]), flush=True)
    for ckpt in args.checkpoint:
        report[str(ckpt)] = evaluate(ckpt, held_out, args.battles)
        print(ckpt, json.dumps(report[str(ckpt)]), flush=True)
    path = args.out / f"report-{tag}.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**earlier, **report}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
