"""Why MaskMA plays a training map badly: checks of the map's expert data and behaviour cloning on it alone.

    python benchmarks/diag_maskma_map.py --map 3m --data runs/maskma_data/data/3m.npz --out runs/diag_3m
        [--steps 600] [--with-maps OTHER.npz ...] [--checkpoint RUN/final.pt ...]
    python benchmarks/diag_maskma_map.py --map 3s_vs_4z --data runs/maskma_data_hard/data/3s_vs_4z.npz \
        --out runs/diag_3s_vs_4z --steps 1000 4000 \
        --checkpoint runs/bench_maskma_hard32k/maskma/seed0/final.pt

1. **Layout**: the dataset's entity-layout actions against its env-layout actions and the env's
   ``entity_action_target`` mapping (both ways), and whether every taken action is available under the mask
   recorded with it (a row misalignment would break this).
2. **The expert's targets**: how often an attack goes to the lowest-index / nearest / weakest enemy the agent
   can attack, and how often all attacking agents share one target (focus fire).
3. **Behaviour cloning on the map alone** (the first ``--train-episodes`` episodes train, the rest held
   out): action accuracy on held-out steps in centralized and decentralized views, and greedy win rate
   over ``--battles`` battles in both modes; the same for every ``--checkpoint`` given (e.g. the
   benchmark's 10-map models). Held-out accuracy is also
   split by the expert's action class (no-op/stop, move, attack/heal) and by the acting unit's own weapon
   cooldown (quartiles of the normalised cooldown), which is where kiting decisions are made.
4. **Where the clone's own games go** (``--rollout-episodes``): greedy games of each model with its
   configured execution (decentralized unless the checkpoint says otherwise) against the held-out expert
   games: mean game length, the share of living agents' steps with no living enemy in sight, and the
   share of move actions that step away from the nearest living enemy, with and without one in sight.
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
MOVE_DIRECTIONS = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])  # actions 2-5: N, S, E, W
CLASS_NAMES = ("noop_stop", "move", "attack_heal")


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


def _greedy(net, data: MapData, columns, execution: str):
    """Greedy actions of every agent step, the expert's actions and which agents are alive."""
    steps = data.unit_steps(np.arange(data.n_steps), columns, torch.device("cpu"))
    n, units = steps.n_agents, steps.units
    with torch.no_grad():
        if execution == "centralized":
            logits = net.joint_logits(units, view_attention(units.alive), units.alive, n)
        else:
            logits = net.decentralized_logits(units, steps.visible)
    predicted = masked_logits(logits, steps.action_mask).argmax(-1).numpy()
    return predicted, steps.actions.numpy(), units.alive[:, :n].numpy()


def action_class(actions: np.ndarray) -> np.ndarray:
    """0: no-op / stop, 1: move, 2: attack or heal (entity action layout)."""
    return np.where(actions >= K, 2, np.where(actions >= 2, 1, 0))


def accuracy(net, data: MapData, columns, execution: str) -> dict:
    """Held-out accuracy overall, per expert action class and per quartile of the unit's own cooldown."""
    predicted, expert, alive = _greedy(net, data, columns, execution)
    right = predicted == expert
    out = {"all": float(right[alive].mean())}
    classes, predicted_classes = action_class(expert), action_class(predicted)
    for c, name in enumerate(CLASS_NAMES):
        rows = alive & (classes == c)
        out[f"{name}_share"] = float(rows.mean() / alive.mean())
        if rows.any():
            out[f"{name}_exact"] = float(right[rows].mean())
            out[f"{name}_class"] = float((predicted_classes == c)[rows].mean())
    names = list(data.meta.feature_names)
    cooldown = data.steps["entity_state"][:, : expert.shape[1], names.index("cooldown")]
    edges = np.quantile(cooldown[alive], [0.25, 0.5, 0.75])
    bucket = np.searchsorted(edges, cooldown, side="right")
    for q in range(4):
        rows = alive & (bucket == q)
        if rows.any():
            lo, hi = float(cooldown[rows].min()), float(cooldown[rows].max())
            out[f"cooldown_q{q + 1}[{lo:.2f},{hi:.2f}]"] = float(right[rows].mean())
    return out


def evaluate(checkpoint: Path, map_name: str, held_out: Path, battles: int, rollouts: int) -> dict:
    from rlsuite.algos.base import Algorithm
    from rlsuite.training.zero_shot import evaluate_on_maps

    algo = Algorithm.for_evaluation(checkpoint, env_id(map_name), device="cpu")
    try:
        data = MapData(load_team_dataset(held_out), algo.net.shape.unit_types)
        cols = data.columns(algo.net.shape.token_features)
        out = {
            f"heldout_accuracy_{execution}": accuracy(algo.net, data, cols, execution)
            for execution in ("centralized", "decentralized")
        }
        out["heldout_targets"] = predicted_targets(algo.net, data, cols)
        if rollouts:
            out["own_games"] = rollout_stats(algo.agent, map_name, rollouts)
    finally:
        algo.close()
    for execution in ("centralized", "decentralized"):
        (outcome,) = evaluate_on_maps(
            checkpoint,
            [env_id(map_name)],
            battles,
            method="m",
            seed=0,
            config_overrides={"execution": execution},
        )
        out[f"win_rate_{execution}"] = float(np.mean(outcome.wins))
    return out


def sight_stats(steps: dict, lengths: np.ndarray) -> dict:
    """Game length, steps with no enemy in sight and moves away from the nearest enemy (entity rows)."""
    alive_units, enemy = steps["entity_alive"], steps["entity_enemy"]
    visible, pos, actions = steps["entity_visible"], steps["entity_pos"], steps["entity_actions"]
    n = actions.shape[1]
    agents_alive = alive_units[:, :n]
    enemies = alive_units & enemy  # [T, E]
    sees_enemy = (visible & enemies[:, None, :]).any(-1)  # [T, n]
    offset = pos[:, None, :, :] - pos[:, :n, None, :]  # [T, n, E, 2]: agent -> unit
    distance = np.where(enemies[:, None, :], np.linalg.norm(offset, axis=-1), np.inf)
    nearest = np.take_along_axis(offset, distance.argmin(-1)[..., None, None], 2)[:, :, 0]  # [T, n, 2]
    moving = agents_alive & (actions >= 2) & (actions < K) & enemies.any(-1)[:, None]
    step = MOVE_DIRECTIONS[np.clip(actions - 2, 0, 3)]  # [T, n, 2]
    away = (step * nearest).sum(-1) < 0
    out = {
        "games": len(lengths),
        "mean_length": float(np.mean(lengths)),
        "no_enemy_in_sight": float((~sees_enemy)[agents_alive].mean()),
    }
    for name, rows in (("in_sight", moving & sees_enemy), ("out_of_sight", moving & ~sees_enemy)):
        out[f"moves_{name}"] = int(rows.sum())
        out[f"moves_away_{name}"] = float(away[rows].mean()) if rows.any() else None
    return out


def rollout_stats(agent, map_name: str, episodes: int) -> dict:
    """:func:`sight_stats` of ``episodes`` greedy games of a MaskMA agent (its configured execution) on the
    map (seed 0)."""
    from rlsuite.envs.registry import make_vec
    from rlsuite.offline.team_collect import collect_team_episodes

    env = make_vec(env_id(map_name), min(8, episodes), entity_features=True)
    try:
        agent.bind_env(env.team_spec)
        games = collect_team_episodes(env, agent, episodes, progress=False).episodes
    finally:
        env.close()
    fields = ("entity_alive", "entity_enemy", "entity_visible", "entity_pos", "entity_actions")
    steps = {f: np.concatenate([getattr(g, f) for g in games]) for f in fields}
    out = sight_stats(steps, np.array([len(g.actions) for g in games]))
    out["win_rate"] = float(np.mean([g.won for g in games]))
    return out


def env_id(map_name: str) -> str:
    return f"rlsuite/SMAC-{map_name}-v0"


def train_on(map_name: str, train_files: list[Path], out: Path, steps: int, overrides: dict) -> Path:
    from rlsuite.algos import get_algorithm
    from rlsuite.config import EnvConfig, EvalConfig

    final = out / "final.pt"
    if final.exists():
        return final
    cls = get_algorithm("maskma")
    config = cls.config_cls(datasets=[str(f) for f in train_files], **overrides)
    algo = cls(EnvConfig(id=env_id(map_name), num_envs=8), config, seed=0, device="cpu",
               eval_config=EvalConfig(episodes=8))  # fmt: skip
    algo.learn(steps)
    out.mkdir(parents=True, exist_ok=True)
    algo.save(final)
    algo.close()
    return final


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--map", default="3m", help="SMAC map name of the dataset")
    parser.add_argument("--data", type=Path, default=Path("runs/maskma_data/data/3m.npz"))
    parser.add_argument("--out", type=Path, default=Path("runs/diag_3m"))
    parser.add_argument("--train-episodes", type=int, default=250, help="the rest are held out")
    parser.add_argument("--steps", type=int, nargs="*", default=[600])
    parser.add_argument("--battles", type=int, default=32)
    parser.add_argument(
        "--rollout-episodes", type=int, default=32, help="games per model for step 4 (0: skip)"
    )
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
    args.out.mkdir(parents=True, exist_ok=True)
    train_file, held_out = args.out / "train.npz", args.out / "heldout.npz"
    if not held_out.exists():
        cut = args.train_episodes
        save_team_dataset(train_file, data.select(np.arange(cut)))
        save_team_dataset(held_out, data.select(np.arange(cut, data.num_episodes)))
    expert_games = load_team_dataset(held_out)
    report["expert_heldout_games"] = sight_stats(expert_games.steps, expert_games.episode_lengths)
    print(json.dumps(report, indent=1), flush=True)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    tag = "-".join(f"{k}{v}" for k, v in overrides.items()) or "default"
    if args.with_maps:
        tag += "-with-" + "-".join(p.stem for p in args.with_maps)
    for steps in args.steps:
        key = f"bc_{args.map}_{tag}_{steps}_steps"
        folder = args.out / f"bc{args.map}-{tag}-{steps}"
        ckpt = train_on(args.map, [train_file, *args.with_maps], folder, steps, overrides)
        report[key] = evaluate(ckpt, args.map, held_out, args.battles, args.rollout_episodes)
        print(json.dumps(report[key]), flush=True)
    for ckpt in args.checkpoint:
        report[str(ckpt)] = evaluate(ckpt, args.map, held_out, args.battles, args.rollout_episodes)
        print(ckpt, json.dumps(report[str(ckpt)]), flush=True)
    path = args.out / f"report-{tag}.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**earlier, **report}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
