"""Grid-world env steps per second: rlsuite's numba-batched cores against Python peers, in one run.

Rows, for each batch size in ``--num-envs`` (default 1, 64, 1024):

* ``rlsuite Taxi`` (``TaxiVectorEnv``, grid observations) against the peer ``gymnasium Taxi-v4
  SyncVectorEnv`` (``gym.make_vec("Taxi-v4", vectorization_mode="sync")`` with same-step autoreset, the
  semantics of rlsuite's vector envs);
* ``rlsuite Sokoban`` (``SokobanVectorEnv``, 6x6 one box, a 1000-level pool so resets copy a level; also
  a row with a fresh reverse-play level at every reset) against the peer ``python Sokoban``: the
  gym-sokoban step (``_push``/``_move``/``_calc_reward`` with numpy rooms, one-hot observation) written
  out below in plain Python and looped over the batch, resetting to the same pool levels;
* ``rlsuite Maze`` (``MazeVectorEnv``, 7x7, a new maze at every reset), no peer.

Random actions are drawn up front; each measurement follows a reset and a warm-up (compile time is not
counted) and runs for ``--seconds``. Prints Markdown tables (steps/s and the ratio to the peer).

    python benchmarks/bench_gridworlds.py [--seconds 1.0] [--num-envs 1 64 1024]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rlsuite.envs.gridworlds.maze import MazeVectorEnv
from rlsuite.envs.gridworlds.sokoban import SokobanVectorEnv
from rlsuite.envs.gridworlds.sokoban_kernels import generate_pool
from rlsuite.envs.gridworlds.taxi import TaxiVectorEnv

ROWS = 256  # pre-generated action batches, cycled
CHUNK = 32  # steps between clock reads
CHANGE = ((-1, 0), (1, 0), (0, -1), (0, 1))
SAME_STEP = {"autoreset_mode": AutoresetMode.SAME_STEP}


class PySokoban:
    """gym-sokoban's step in plain Python/numpy (rewards, max_steps, one-hot observation)."""

    def __init__(self, levels: tuple[np.ndarray, np.ndarray], max_steps: int = 100, seed: int = 0):
        self.levels, self.max_steps = levels, max_steps
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> np.ndarray:
        j = int(self.rng.integers(len(self.levels[0])))
        self.room_fixed, self.room_state = self.levels[0][j].copy(), self.levels[1][j].copy()
        self.player_position = np.argwhere(self.room_state == 5)[0]
        self.num_boxes = int((self.room_fixed == 2).sum())
        self.boxes_on_target, self.num_env_steps = 0, 0
        return self._obs()

    def _obs(self) -> np.ndarray:
        types = self.room_state.astype(np.int64)
        types[(types == 5) & (self.room_fixed == 2)] = 6
        return (types[None] == np.arange(7)[:, None, None]).astype(np.uint8)

    def _move(self, action: int) -> bool:
        change = CHANGE[(action - 1) % 4]
        new = self.player_position + change
        if self.room_state[new[0], new[1]] in (1, 2):
            cur = self.player_position
            self.room_state[new[0], new[1]] = 5
            self.room_state[cur[0], cur[1]] = self.room_fixed[cur[0], cur[1]]
            self.player_position = new
            return True
        return False

    def _push(self, action: int) -> None:
        change = CHANGE[(action - 1) % 4]
        new = self.player_position + change
        box = new + change
        if self.room_state[new[0], new[1]] in (3, 4) and self.room_state[box[0], box[1]] in (1, 2):
            cur = self.player_position
            self.room_state[new[0], new[1]] = 5
            self.room_state[cur[0], cur[1]] = self.room_fixed[cur[0], cur[1]]
            self.room_state[box[0], box[1]] = 3 if self.room_fixed[box[0], box[1]] == 2 else 4
            self.player_position = new
        else:
            self._move(action)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        self.num_env_steps += 1
        if action != 0:
            self._push(action)
        reward = -0.1
        empty = (self.room_state == 2) | ((self.room_fixed == 2) & (self.room_state == 5))
        on_target = self.num_boxes - int(np.where(empty)[0].shape[0])
        if on_target > self.boxes_on_target:
            reward += 1.0
        elif on_target < self.boxes_on_target:
            reward -= 1.0
        won = on_target == self.num_boxes
        if won:
            reward += 10.0
        self.boxes_on_target = on_target
        return self._obs(), reward, won, self.num_env_steps >= self.max_steps


class PySokobanBatch:
    """``n`` peers looped in Python, with same-step reset; returns batched arrays like a vector env."""

    def __init__(self, n: int, levels: tuple[np.ndarray, np.ndarray]):
        self.envs = [PySokoban(levels, seed=i) for i in range(n)]

    def reset(self, seed: int | None = None) -> None:
        for env in self.envs:
            env.reset()

    def step(self, actions: np.ndarray) -> tuple:
        out = [env.step(int(a) + 1) for env, a in zip(self.envs, actions)]
        for env, (_, _, term, trunc) in zip(self.envs, out):
            if term or trunc:
                env.reset()
        return (np.stack([o[0] for o in out]), np.array([o[1] for o in out]))

    def close(self) -> None:
        pass


def rate(make: Callable[[], object], n: int, n_actions: int, seconds: float) -> float:
    env = make()
    actions = np.random.default_rng(0).integers(0, n_actions, size=(ROWS, n), dtype=np.int64)
    env.reset(seed=0)
    for a in actions[:CHUNK]:
        env.step(a)
    steps, start = 0, time.perf_counter()
    while True:
        base = steps % ROWS
        for a in actions[base : base + CHUNK]:
            env.step(a)
        steps += CHUNK
        now = time.perf_counter()
        if now - start >= seconds:
            break
    env.close()
    return steps * n / (now - start)


def table(title: str, rows: list[tuple[str, int, float, float | None]]) -> str:
    lines = [f"### {title}", "", "| env | num_envs | steps/s | vs peer |", "|---|---:|---:|---:|"]
    for name, n, sps, peer in rows:
        ratio = f"{sps / peer:.1f}x" if peer else "peer" if peer is None else ""
        lines.append(f"| {name} | {n} | {sps:,.0f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 64, 1024])
    args = parser.parse_args()
    sec = args.seconds
    seeds = np.arange(1000, dtype=np.uint64)
    gp = np.array([1, int(1.7 * 12), 300, 300_000, 1000], dtype=np.int64)
    generate_pool(seeds[:4] + np.uint64(10_000), gp, 0.35, 6, 6)  # warm-up (loads the compiled kernel)
    t0 = time.perf_counter()
    fixed, state, _ = generate_pool(seeds, gp, 0.35, 6, 6)
    gen_rate = len(seeds) / (time.perf_counter() - t0)
    levels = (fixed, state)

    taxi_rows, sok_rows, maze_rows = [], [], []
    for n in args.num_envs:
        peer = rate(
            lambda n=n: gym.make_vec("Taxi-v4", n, vectorization_mode="sync", vector_kwargs=SAME_STEP),
            n,
            6,
            sec,
        )
        taxi_rows += [("gymnasium Taxi-v4 SyncVectorEnv", n, peer, None)]
        taxi_rows += [("rlsuite TaxiVectorEnv", n, rate(lambda n=n: TaxiVectorEnv(n), n, 6, sec), peer)]
        py = rate(lambda n=n: PySokobanBatch(n, levels), n, 4, sec)
        sok_rows += [("python Sokoban (gym-sokoban step)", n, py, None)]
        pooled = rate(lambda n=n: SokobanVectorEnv(n, levels=None, pool_size=1000), n, 4, sec)
        sok_rows += [("rlsuite SokobanVectorEnv (level pool)", n, pooled, py)]
        fresh = rate(lambda n=n: SokobanVectorEnv(n), n, 4, sec)
        sok_rows += [("rlsuite SokobanVectorEnv (new level each reset)", n, fresh, py)]
        maze_rows += [("rlsuite MazeVectorEnv 7x7", n, rate(lambda n=n: MazeVectorEnv(n), n, 4, sec), False)]
    print(table("Taxi (grid observations)", taxi_rows))
    print()
    print(table("Sokoban 6x6, one box, random actions (episodes end at 100 steps or when solved)", sok_rows))
    print()
    print(table("Maze", maze_rows))
    print()
    print(f"Sokoban 6x6/1-box reverse-play generation in numba: {gen_rate:,.0f} levels/s (one core)")


if __name__ == "__main__":
    main()
