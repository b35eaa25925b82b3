"""ACE's network: entity encoders, action embeddings and the sequential decision chain.

ACE (Li et al., "ACE: Cooperative Multi-agent Q-learning with Bidirectional Action-Dependency", AAAI
2023, arXiv:2211.16068) values a *partially acted* state: agents decide one after another, and each
decision is an embedding added into the entity embeddings the next agent reads. The layers follow the
released code's SMAC model (opendilab/ACE ``ding/model/template/smac_ace.py``), H = ``hidden``:

1. unit encoder ``e_i = MLP(entity_i)`` (F -> H -> H);
2. relation encoder ``h_ij = MLP([r_ij, e_j])`` (6 + H -> H -> 2H), pooled over alive j as
   ``[mean_j h_ij[:H], max_j h_ij[H:]]`` (dead units multiplied by 0), merged ``e_i <- ReLU(W[e_i, pool])``;
3. interactive action encoder ``MLP([h_ij, e_j, e_i])`` (4H -> H -> 2H) split into an *active* embedding
   (added to the actor i) and a *passive* one (added to the target j); the 6 non-interactive actions
   (no-op, stop, 4 moves) are a learned 6 x H table shared by all agents;
4. for agent k in order, every candidate action a gives hypothetical embeddings (actor row + active(a),
   target row + passive(a)); each unit goes through the decision encoder D (H -> H -> 2H), the units are
   pooled (mean of the first half, max of the second, over alive units) and the value head
   (2H -> H -> 1) gives Q_k(s, a_1:k-1, a). The chosen action is *committed* into the embeddings.

Only the actor's and the target's rows change between candidates, so the pooled sums and maxima of
the unchanged units are computed once per agent (a top-2 over units gives "the max without rows i and
j" for every j): (6 + 3E) decision-encoder rows per agent instead of (6 + E) * E, with the same result
(``tests/test_ace.py`` checks it against the explicit per-candidate computation).

Choices the reference does not settle, documented in docs/marl.md: every MLP ends in ReLU except the
value and auxiliary heads (so that dead units, multiplied by 0, are neutral in the max-pooling); the
relation features are computed here from positions and weapon ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.agents.base import MemorylessPolicy
from rlsuite.core.seeding import eval_seed
from rlsuite.core.team import EntityObservation, TeamObservation

DEFAULT_SELF_ACTIONS = 6  # non-interactive actions of the released SMAC model: no-op, stop, 4 moves
RELATION_SIZE = 6
RELATION_SCALE = 6.0  # distances in relations are in units of SMAC's shooting range
N_DYNAMICS = 6  # per-unit quantities whose next-step change the auxiliary head predicts


def _mlp(inp: int, hidden: int, out: int, last_relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out)]
    if last_relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@dataclass
class EntityBatch:
    """One batch of entity observations as tensors (:class:`~rlsuite.core.team.EntityObservation`)."""

    state: torch.Tensor  # [B, E, F]
    pos: torch.Tensor  # [B, E, 2] map coordinates
    range: torch.Tensor  # [B, E] weapon range
    alive: torch.Tensor  # [B, E] bool
    action_mask: torch.Tensor  # [B, n, K + E] bool, K non-interactive actions then one per entity

    @classmethod
    def from_observation(cls, entities: EntityObservation, device: torch.device) -> EntityBatch:
        def tensor(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x), device=device)

        return cls(
            tensor(entities.features).float(),
            tensor(entities.position).float(),
            tensor(entities.attack_range).float(),
            tensor(entities.alive).bool(),
            tensor(entities.action_mask).bool(),
        )


@dataclass
class ChainOutput:
    q: torch.Tensor  # [B, n, K + E] Q_k(s, a_1:k-1, a) for every candidate a (unmasked)
    actions: torch.Tensor  # [B, n] the committed actions
    embeddings: torch.Tensor  # [B, E, H] entity embeddings after all commitments
    pooled: torch.Tensor  # [B, 2H] pooled decision embedding of the fully acted state


def relations(pos: torch.Tensor, rng: torch.Tensor) -> torch.Tensor:
    """``r_ij`` [B, E, E, 6]: clipped range margins of j and i, direction cos/sin, in-range flags."""
    delta = pos[:, None, :, :] - pos[:, :, None, :]  # [B, i, j, 2]: from i to j
    dist = torch.linalg.vector_norm(delta, dim=-1)
    safe = dist.clamp_min(1e-6)
    range_j, range_i = rng[:, None, :], rng[:, :, None]
    return torch.stack(
        [
            ((dist - range_j) / RELATION_SCALE).clamp(-1.0, 1.0),
            ((dist - range_i) / RELATION_SCALE).clamp(-1.0, 1.0),
            torch.where(dist > 1e-6, delta[..., 0] / safe, 0.0),
            torch.where(dist > 1e-6, delta[..., 1] / safe, 0.0),
            (dist <= range_j).float(),
            (dist <= range_i).float(),
        ],
        dim=-1,
    )


def masked_pool(h: torch.Tensor, alive: torch.Tensor, dim: int) -> torch.Tensor:
    """``[mean over alive of the first half, max over alive of the second half]`` along ``dim``."""
    half = h.shape[-1] // 2
    weight = alive.float()
    while weight.dim() < h.dim():
        weight = weight.unsqueeze(-1)
    hm = h * weight
    count = weight.sum(dim).clamp_min(1.0)
    return torch.cat([hm[..., :half].sum(dim) / count, hm[..., half:].amax(dim)], dim=-1)


class ACENetwork(nn.Module):
    """Entity encoders, action encoder, decision encoder and value head of ACE (SMAC variant)."""

    def __init__(
        self, entity_size: int, n_agents: int, hidden: int = 256, n_self_actions: int = DEFAULT_SELF_ACTIONS
    ) -> None:
        super().__init__()
        H = hidden
        self.n_agents, self.hidden, self.n_self_actions = n_agents, hidden, n_self_actions
        self.unit_encoder = _mlp(entity_size, H, H)
        self.relation_encoder = _mlp(RELATION_SIZE + H, H, 2 * H)
        self.relation_merge = nn.Sequential(nn.Linear(3 * H, H), nn.ReLU())
        self.action_encoder = _mlp(4 * H, H, 2 * H)
        self.self_actions = nn.Parameter(torch.empty(n_self_actions, H))
        nn.init.kaiming_normal_(self.self_actions)
        self.decision_encoder = _mlp(H, H, 2 * H)
        self.value_head = _mlp(2 * H, H, 1, last_relu=False)
        # Auxiliary dynamics heads (released code): per-unit deltas and allied/enemy sums of them.
        self.unit_dynamics = _mlp(H, H // 2, N_DYNAMICS, last_relu=False)
        self.team_dynamics = _mlp(2 * H, H, 2 * N_DYNAMICS, last_relu=False)

    # --- encoding ---------------------------------------------------------------------------------
    def encode(self, x: EntityBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Entity embeddings ``e`` [B, E, H] and the actors' active/passive embeddings [B, n, E, H].

        The first layers of the relation and action encoders take concatenations of per-pair and
        per-entity parts; since a linear layer of a concatenation is the sum of its blocks' products,
        the per-entity blocks are multiplied once per entity and broadcast over the pairs instead of
        once per pair (the same function; ``tests/test_ace.py`` checks it against the concatenation).
        """
        n, H = self.n_agents, self.hidden
        e = self.unit_encoder(x.state)
        rel = relations(x.pos, x.range)
        first, second = self.relation_encoder[0], self.relation_encoder[2]
        w = first.weight  # columns: [r_ij (6), e_j (H)]
        pre = F.linear(rel, w[:, :RELATION_SIZE]) + F.linear(e, w[:, RELATION_SIZE:], first.bias)[:, None]
        hidden = torch.relu_(pre)  # in place: fresh tensors whose producers' backward does not read them
        # The two halves of h_ij (mean-pooled, max-pooled) as separate products: contiguous tensors.
        h_mean = torch.relu_(F.linear(hidden, second.weight[:H], second.bias[:H]))  # [B, i, j, H]
        h_max = torch.relu_(F.linear(hidden, second.weight[H:], second.bias[H:]))
        weight = x.alive.to(h_mean.dtype)  # [B, j]
        count = weight.sum(1).clamp_min(1.0)[:, None, None]
        mean = torch.matmul(weight[:, None, None, :], h_mean)[:, :, 0] / count  # [B, i, H]
        top = (h_max * weight[:, None, :, None]).amax(2)
        e = self.relation_merge(torch.cat([e, mean, top], dim=-1))
        first = self.action_encoder[0]
        w = first.weight  # columns: [h_ij (2H), e_j (H), e_i (H)]
        pre = (
            F.linear(h_mean[:, :n].contiguous(), w[:, :H])  # one flat product, not B batched ones
            + F.linear(h_max[:, :n].contiguous(), w[:, H : 2 * H])
            + F.linear(e, w[:, 2 * H : 3 * H])[:, None]
            + F.linear(e[:, :n], w[:, 3 * H :], first.bias)[:, :, None]
        )
        action = torch.relu_(self.action_encoder[2](torch.relu_(pre)))
        return e, action[..., :H], action[..., H:]

    def encode_concatenated(self, x: EntityBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`encode` as the released model writes it, each layer on concatenated inputs.

        The definition the factored :meth:`encode` is checked against (tests, benchmarks/bench_ace_speed.py).
        """
        n, H = self.n_agents, self.hidden
        e = self.unit_encoder(x.state)
        E = e.shape[1]
        rel = relations(x.pos, x.range)
        h = self.relation_encoder(torch.cat([rel, e[:, None].expand(-1, E, -1, -1)], dim=-1))
        e = self.relation_merge(torch.cat([e, masked_pool(h, x.alive[:, None, :], dim=2)], dim=-1))
        actor, target = e[:, :n, None].expand(-1, -1, E, -1), e[:, None].expand(-1, n, -1, -1)
        action = self.action_encoder(torch.cat([h[:, :n], target, actor], dim=-1))
        return e, action[..., :H], action[..., H:]

    # --- the sequential decision chain ------------------------------------------------------------
    def candidate_values(
        self,
        emb: torch.Tensor,
        decoded: torch.Tensor,
        alive: torch.Tensor,
        agent: int,
        active: torch.Tensor,
        passive: torch.Tensor,
    ) -> torch.Tensor:
        """Q of every candidate action of ``agent`` given the committed embeddings ``emb``: [B, K + E].

        ``decoded`` is ``decision_encoder(emb)`` (kept up to date by the caller, row by row).
        """
        H, E = self.hidden, emb.shape[1]
        weight = alive.float()[..., None]  # [B, E, 1]
        base = decoded * weight  # [B, E, 2H], dead rows zero
        count = weight.sum(1).clamp_min(1.0)  # [B, 1]
        mean_all = base[..., :H].sum(1)  # [B, H]
        w_i = weight[:, agent]  # [B, 1]
        # Max over units other than the actor (and, via top-2, other than each target j as well).
        others = base[..., H:].clone()
        others[:, agent] = -torch.inf
        first, idx = others.max(1, keepdim=True)  # [B, 1, H]: top-2 by two maxima (faster than topk)
        if E > 2:
            second = others.scatter(1, idx, -torch.inf).amax(1, keepdim=True)
        else:
            second = torch.full_like(first, -torch.inf)
        j = torch.arange(E, device=emb.device)[None, :, None]
        max_without = torch.where(idx == j, second, first)  # [B, E, H] max over units other than i, j
        max_without[:, agent] = first[:, 0]  # target == actor: only the actor's row changes
        # Non-interactive actions: only the actor's row changes.
        actor = emb[:, agent]  # [B, H]
        own = self.decision_encoder(actor[:, None] + self.self_actions[None]) * w_i[:, None]  # [B, 6, 2H]
        self_mean = (mean_all - base[:, agent, :H])[:, None] + own[..., :H]
        self_max = torch.maximum(first, own[..., H:])
        # Interactive actions on each entity j: actor row + active, target row + passive.
        same = (j == agent).float()  # [1, E, 1]
        hyp_actor = actor[:, None] + active + same * passive  # [B, E, H]
        new_actor = self.decision_encoder(hyp_actor) * w_i[:, None]
        new_target = self.decision_encoder(emb + passive) * weight * (1.0 - same)
        base_target = base * (1.0 - same)
        hit_mean = (mean_all - base[:, agent, :H])[:, None] - base_target[..., :H]
        hit_mean = hit_mean + new_actor[..., :H] + new_target[..., :H]
        hit_max = torch.maximum(torch.maximum(max_without, new_actor[..., H:]), new_target[..., H:])
        pooled = torch.cat(
            [torch.cat([self_mean, hit_mean], 1) / count[:, None], torch.cat([self_max, hit_max], 1)], dim=-1
        )
        return self.value_head(pooled)[..., 0]

    def commit(
        self, emb: torch.Tensor, agent: int, action: torch.Tensor, active: torch.Tensor, passive: torch.Tensor
    ) -> torch.Tensor:
        """``emb`` with ``agent``'s ``action`` [B] added: actor += active (or table), target += passive."""
        B, E = emb.shape[:2]
        rows = torch.arange(B, device=emb.device)
        k = self.n_self_actions
        target = (action - k).clamp(0, E - 1)
        interactive = (action >= k).float()[:, None]
        own = self.self_actions[action.clamp(max=k - 1)]
        actor_delta = interactive * active[rows, target] + (1.0 - interactive) * own
        delta = torch.zeros_like(emb)
        delta[:, agent] = actor_delta
        delta = delta.index_put((rows, target), interactive * passive[rows, target], accumulate=True)
        return emb + delta

    def chain(
        self,
        x: EntityBatch,
        actions: torch.Tensor | None = None,
        *,
        epsilon: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> ChainOutput:
        """Run the decision chain over agents 0..n-1.

        ``actions`` given: teacher forcing (each agent's stored action is committed). Otherwise each
        agent picks the greedy available action, or with probability ``epsilon`` (drawn per agent) a
        uniformly random available one; either way the picked action is committed for the agents after it.
        """
        emb, active, passive = self.encode(x)
        decoded = self.decision_encoder(emb)
        qs, chosen = [], []
        for agent in range(self.n_agents):
            q = self.candidate_values(emb, decoded, x.alive, agent, active[:, agent], passive[:, agent])
            if actions is not None:
                a = actions[:, agent]
            else:
                a = _select(q, x.action_mask[:, agent], epsilon, generator)
            qs.append(q)
            chosen.append(a)
            emb, decoded = self._commit_and_decode(
                emb, decoded, agent, a, active[:, agent], passive[:, agent]
            )
        pooled = masked_pool(decoded, x.alive, dim=1)
        return ChainOutput(torch.stack(qs, 1), torch.stack(chosen, 1), emb, pooled)

    def taken_values(self, x: EntityBatch, actions: torch.Tensor) -> ChainOutput:
        """Teacher-forced Q_k(s, a_1:k) of the given actions only: ``q`` is [B, n] (no candidates).

        Equal to ``chain(x, actions).q.gather(2, actions)``, at the cost of re-decoding the two rows each
        commitment changes instead of evaluating every candidate: what the TD loss needs.
        """
        emb, active, passive = self.encode(x)
        decoded = self.decision_encoder(emb)
        qs = []
        for agent in range(self.n_agents):
            a = actions[:, agent]
            emb, decoded = self._commit_and_decode(
                emb, decoded, agent, a, active[:, agent], passive[:, agent]
            )
            qs.append(self.value_head(masked_pool(decoded, x.alive, dim=1))[:, 0])
        pooled = masked_pool(decoded, x.alive, dim=1)
        return ChainOutput(torch.stack(qs, 1), actions, emb, pooled)

    def _commit_and_decode(self, emb, decoded, agent, action, active, passive):
        """Commit ``action`` and re-decode the actor's and the target's rows."""
        emb = self.commit(emb, agent, action, active, passive)
        rows = torch.arange(emb.shape[0], device=emb.device)
        k = self.n_self_actions
        target = torch.where(action >= k, action - k, agent)
        changed = torch.stack([torch.full_like(target, agent), target], dim=1)  # [B, 2]
        new = self.decision_encoder(emb[rows[:, None], changed])  # [B, 2, 2H]
        return emb, decoded.index_put((rows[:, None].expand(-1, 2), changed), new)

    def dynamics(self, out: ChainOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Auxiliary predictions: per-unit deltas [B, E, 6] and allied/enemy sums [B, 12]."""
        return self.unit_dynamics(out.embeddings), self.team_dynamics(out.pooled)


def _select(
    q: torch.Tensor, mask: torch.Tensor, epsilon: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Greedy available action, replaced with probability ``epsilon`` by a random available one."""
    greedy = q.masked_fill(~mask, -torch.inf).argmax(-1)
    if epsilon <= 0.0:
        return greedy
    scores = torch.rand(mask.shape, generator=generator, device=mask.device) * mask
    random = scores.argmax(-1)
    explore = torch.rand(q.shape[0], generator=generator, device=q.device) < epsilon
    return torch.where(explore, random, greedy)


# --- agent-order shuffling ---------------------------------------------------------------------------
def random_permutations(batch: int, n_agents: int, rng: np.random.Generator) -> np.ndarray:
    """``[batch, n_agents]``: row b lists which original ally sits at each new position."""
    return np.argsort(rng.random((batch, n_agents)), axis=1)


def permute_allies(x: EntityBatch, perm: torch.Tensor, actions: torch.Tensor | None = None):
    """Reorder the allies of every sample: new ally k is old ally ``perm[b, k]``.

    Entity rows, action-mask rows and their ally-target columns (K + j) move together; stored actions
    are reordered and actions that target an ally are renamed to its new index.
    """
    B, n = perm.shape
    E = x.state.shape[1]
    k = x.action_mask.shape[-1] - E  # non-interactive actions
    rest = torch.arange(n, E, device=perm.device).expand(B, -1)
    order = torch.cat([perm, rest], dim=1)  # [B, E]

    def rows(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        idx = index.view(B, -1, *([1] * (t.dim() - 2))).expand(-1, -1, *t.shape[2:])
        return t.gather(1, idx)

    mask = rows(x.action_mask, perm)
    cols = torch.cat([torch.arange(k, device=perm.device).expand(B, -1), order + k], 1)
    mask = mask.gather(2, cols[:, None, :].expand(-1, n, -1))
    out = EntityBatch(
        rows(x.state, order), rows(x.pos, order), rows(x.range, order), rows(x.alive, order), mask
    )
    if actions is None:
        return out
    inverse = perm.argsort(1)
    moved = actions.gather(1, perm)
    target = (moved - k).clamp(0, n - 1)
    renamed = inverse.gather(1, target) + k
    ally_target = (moved >= k) & (moved < k + n)
    return out, torch.where(ally_target, renamed, moved)


def unpermute_actions(
    actions: np.ndarray, perm: np.ndarray, n_self_actions: int = DEFAULT_SELF_ACTIONS
) -> np.ndarray:
    """Undo :func:`permute_allies` on chosen actions: back to original agent rows and ally indices."""
    n, k = perm.shape[1], n_self_actions
    rows = np.arange(len(perm))[:, None]
    out = np.empty_like(actions)
    out[rows, perm] = actions
    ally_target = (out >= k) & (out < k + n)
    original = np.take_along_axis(perm, np.clip(out - k, 0, n - 1), axis=1) + k
    return np.where(ally_target, original, out)


# --- acting ----------------------------------------------------------------------------------------
class ACEAgent(MemorylessPolicy):
    """Acts with the decision chain (a team :class:`~rlsuite.agents.base.Policy` without memory).

    ``step`` reads the observation's entity rows, picks entity-layout actions (epsilon-greedy inside the
    chain, agent order shuffled per game step when ``shuffle``) and returns the env's actions;
    ``last_entity_actions`` keeps the entity-layout ones.
    """

    def __init__(
        self, net: ACENetwork, n_agents: int, shuffle: bool, seed: int, device: torch.device
    ) -> None:
        self.net, self.n_agents, self.shuffle, self.device = net, n_agents, shuffle, device
        self.rng = np.random.default_rng(seed)
        # Evaluation draws its agent orders from its own stream, so evaluating does not change training.
        self.eval_rng = np.random.default_rng(eval_seed(seed))
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        self.epsilon = 0.0
        self.last_entity_actions: np.ndarray | None = None

    def step(
        self, observation: TeamObservation, state: None = None, deterministic: bool = False
    ) -> tuple[np.ndarray, None]:
        epsilon, rng = (0.0, self.eval_rng) if deterministic else (self.epsilon, self.rng)
        entities = _entities_of(observation)
        return entities.env_actions(self.act_entities(entities, epsilon, rng)), state

    def act(self, observation: TeamObservation, deterministic: bool = False) -> np.ndarray:
        return self.step(observation, None, deterministic)[0]

    @torch.no_grad()
    def act_entities(
        self, entities: EntityObservation, epsilon: float, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Entity-layout actions ``[N, n_agents]`` for one step of entity observations."""
        batch = EntityBatch.from_observation(entities, self.device)
        perm = None
        if self.shuffle:
            perm = random_permutations(len(batch.state), self.n_agents, rng or self.rng)
            batch = permute_allies(batch, torch.as_tensor(perm, device=self.device))
        actions = self.net.chain(batch, epsilon=epsilon, generator=self.generator).actions.cpu().numpy()
        if perm is not None:
            actions = unpermute_actions(actions, perm, self.net.n_self_actions)
        self.last_entity_actions = actions
        return actions


def _entities_of(observation: TeamObservation) -> EntityObservation:
    if observation.entities is None:
        raise ValueError(
            "ACE needs entity features: a team env whose team_spec declares entities "
            "(the SMAC simulator with entity_features=True)"
        )
    return observation.entities
