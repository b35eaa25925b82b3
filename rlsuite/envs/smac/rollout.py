"""A planning expert for the SMAC simulator: multiagent rollout over the focus-fire script.

Rollout (Bertsekas, "Multiagent Rollout Algorithms and Reinforcement Learning", arXiv 1910.00120) improves
a *base policy* by one step of lookahead with it: every candidate action is scored by simulating it
followed by the base policy, and the best is played. The multiagent form chooses **one agent at a time**:
agent 1 tries each of its available actions while the others play the base policy's action this step;
agent 2 then tries its own with agent 1's choice fixed, and so on. Its cost grows with the *sum* of the
agents' action counts, not their product, and with an exact model each agent's choice scores at least
as well as the base policy's action over the steps it simulates (the base action is always among the
candidates and wins ties; Bertsekas proves the cost improvement for full-length rollouts).

Here the base policy is a focus-fire script (:mod:`rlsuite.envs.smac.focus_fire`, by default
``focus_fire_decoy``) and the model is the simulator itself: each candidate is played on a copy of the
battle (positions, health, cooldowns, enemy targets and the battle's random stream), then the script plays
for ``horizon`` env steps. A rollout's score is the allies' remaining life minus the enemies' (health +
shield as a fraction of each unit's maximum, summed over units), plus ``win_bonus`` for a won battle and
minus it for a lost one.

What it reads: the whole battle state (it is an *expert with a perfect model*, meant for recording
training data and as a reference, like a search-based teacher; no learner sees what it reads). Its model
knows nothing of downstream perturbations (``rlsuite.envs.smac.downstream``): its rollouts assume every
agent acts. The planner's own choices in the real battle are those of a memoryless policy: the same state
gives the same actions.

    policy: focus_fire_rollout          # an expert file of a data pipeline (experiments/maskma/experts_*)
    rlsuite data collect --env rlsuite/SMAC-5m_vs_6m-v0 --policy focus_fire_rollout --episodes 100 --out d.npz

Evidence (its win rates on the MaskMA benchmark's 52 maps, and what cloning it gave):
benchmarks/BENCHMARKS.md, "A planning expert (multiagent rollout)"; ``benchmarks/reports/maskma-outnumbered``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsuite.envs.smac import core
from rlsuite.envs.smac import units as ut
from rlsuite.envs.smac.battle import BattleCore
from rlsuite.envs.smac.focus_fire import POLICY_PARAMS, focus_fire_actions
from rlsuite.envs.smac.observe import END_LOST, END_WON

# The battle arrays a rollout copies (with the random stream); the rest (map, unit table) is shared.
_STATE_ARRAYS = ("fs", "ist", "loops", "steps", "last_action", "max_reward")


@dataclass(frozen=True)
class RolloutConfig:
    """One planning expert.

    base: the focus-fire script the rollouts play and the planner improves (a key of
        ``rlsuite.envs.smac.focus_fire.POLICY_PARAMS``).
    horizon: env steps each rollout simulates after its first (the episode's end cuts it short).
        20 steps are 2.5-5 s of game time: long enough for a retreat or a decoy run to pay off in kills.
    win_bonus: added to a rollout's score when the battle is won within it, subtracted when it is lost
        (the life difference is at most the number of units, so any bonus above that ranks outcomes first).
    min_gain: an agent leaves the script's action only for a candidate scoring more than this above it
        (0: for any better score). A margin keeps the script's choice wherever the alternatives are about
        as good, so recorded data deviates from the script only where the lookahead finds a clear gain.
    """

    base: str = "focus_fire_decoy"
    horizon: int = 20
    win_bonus: float = 100.0
    min_gain: float = 0.0

    def __post_init__(self) -> None:
        if self.base not in POLICY_PARAMS:
            raise ValueError(f"base: {self.base!r}; accepted: {', '.join(POLICY_PARAMS)}")
        if self.horizon < 0:
            raise ValueError(f"horizon: {self.horizon}; accepted: an integer >= 0")
        if self.min_gain < 0.0:
            raise ValueError(f"min_gain: {self.min_gain}; accepted: a number >= 0")


# The planning experts by policy name (``rlsuite.envs.smac.downstream.SCRIPTED_POLICIES``).
# "focus_fire_rollout_margin" leaves the script only for a gain above 0.1 (a tenth of a unit's life):
# on 3s_vs_5z its actions then differ from the script's in 2% of agent steps instead of 15%, while
# 5m_vs_6m and 8m_vs_9m stay won (16 of 16 each; docs/maskma.md, "The planning expert").
ROLLOUT_POLICIES = {
    "focus_fire_rollout": RolloutConfig(),
    "focus_fire_rollout_margin": RolloutConfig(min_gain=0.1),
}


def team_life(table: np.ndarray, fs: np.ndarray, ist: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Per battle, the summed life fraction (health + shield over its maximum) of units ``lo:hi``."""
    types = ist[:, lo:hi, core.IS_TYPE]
    alive = ist[:, lo:hi, core.IS_ALIVE] != 0
    life = (fs[:, lo:hi, core.FS_HEALTH] + fs[:, lo:hi, core.FS_SHIELD]) * alive
    return (life / (table[types, ut.F_HEALTH] + table[types, ut.F_SHIELD])).sum(axis=1)


class RolloutPlanner:
    """Multiagent rollout over a focus-fire script, acting in the battles of ``battles`` (a
    :class:`~rlsuite.envs.smac.battle.BattleCore`: the env's own, read and never written)."""

    def __init__(self, battles: BattleCore, config: RolloutConfig | None = None) -> None:
        self.battles, self.config = battles, config or RolloutConfig()
        self.params = np.asarray(POLICY_PARAMS[self.config.base], dtype=np.float64)
        self.n_agents = battles.layout.n_agents
        self.n_units = self.n_agents + battles.layout.n_enemies
        self.move = float(battles.options.move_amount)
        width = battles.num_battles * battles.layout.n_actions
        self.sim = BattleCore(battles.spec, width, battles.options)

    def base_actions(self, core_: BattleCore, avail: np.ndarray) -> np.ndarray:
        """The base script's joint actions in every battle of ``core_``."""
        out = np.zeros(avail.shape[:2], dtype=np.int64)
        focus_fire_actions(
            core_.fs,
            core_.ist,
            core_.table,
            core_.grid,
            core_.loops,
            avail,
            self.n_agents,
            self.move,
            self.params,
            out,
        )
        return out

    def act(self, avail: np.ndarray) -> np.ndarray:
        """``[B, n_agents]`` actions: each battle's base joint action improved one agent at a time."""
        joint = self.base_actions(self.battles, avail)
        alive = self.battles.ist[:, : self.n_agents, core.IS_ALIVE] != 0
        for agent in range(self.n_agents):
            rows, cands = np.nonzero(avail[:, agent] * alive[:, agent, None])
            if len(rows) == 0 or np.all(np.bincount(rows) <= 1):
                continue
            first = joint[rows].copy()
            first[:, agent] = cands
            score = self.scores(rows, first)
            # the script's action wins ties and loses only to a gain above min_gain
            score += (self.config.min_gain + 1e-6) * (cands == joint[rows, agent])
            # per battle, the best score first; between equal scores, the higher action index
            order = np.lexsort((-cands, -score, rows))
            first_of_row = np.r_[True, rows[order][1:] != rows[order][:-1]]
            pick = order[first_of_row]
            joint[rows[pick], agent] = cands[pick]
        return joint

    def scores(self, rows: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Rollout scores of the joint actions ``first[k]`` played in battle ``rows[k]``, then the script."""
        src, sim, k = self.battles, self.sim, len(rows)
        for name in _STATE_ARRAYS:
            getattr(sim, name)[:k] = getattr(src, name)[rows]
        sim.streams.rng[:k] = src.streams.rng[rows]
        sim.streams.seeded[:k] = True
        active = np.zeros(sim.num_battles, dtype=bool)
        active[:k] = True
        actions = np.zeros((sim.num_battles, self.n_agents), dtype=np.int64)
        actions[:k] = first
        score = np.zeros(sim.num_battles)
        for _ in range(self.config.horizon + 1):
            result = sim.step(actions, active)
            code = result["end_code"]
            ended = active & ((code != 0) | result["timeout"])
            score += self.config.win_bonus * ended * ((code == END_WON).astype(float) - (code == END_LOST))
            score += ended * self.life_difference()
            active &= ~ended
            if not active.any():
                break
            actions = self.base_actions(sim, sim.avail_actions())
        score += active * self.life_difference()
        return score[:k]

    def life_difference(self) -> np.ndarray:
        sim = self.sim
        allies = team_life(sim.table, sim.fs, sim.ist, 0, self.n_agents)
        return allies - team_life(sim.table, sim.fs, sim.ist, self.n_agents, self.n_units)
