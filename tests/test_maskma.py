"""MaskMA: masks, sight views, equivariant action heads, one network on any map, the loss, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from maskma_helpers import FocusFirePolicy, record

import rlsuite
from rlsuite.agents.maskma import MaskMAAgent, MaskMANetwork, NetworkShape, UnitBatch, UnitColumns
from rlsuite.agents.unit_views import (
    decentralized_views,
    random_attention,
    random_unit_view,
    view_attention,
)
from rlsuite.algos.maskma import MaskMA, MaskMAConfig, bc_loss
from rlsuite.algos.team_steps import UnitSteps
from rlsuite.config import EnvConfig
from rlsuite.core.team import team_reset, team_step
from rlsuite.envs.smac.observe import SIGHT_RANGE
from rlsuite.training.evaluation import evaluate_policy

TYPES = ("marine", "marauder", "medivac", "stalker", "zealot")
K = 6


def network(width: int = 16, action_head: str = "pairwise", fixed: int = 0, seed: int = 0) -> MaskMANetwork:
    torch.manual_seed(seed)
    return MaskMANetwork(
        NetworkShape(("health", "cooldown"), TYPES, K, width, 2, 2, action_head, fixed)
    ).eval()


def units(B: int = 3, E: int = 7, n: int = 3, seed: int = 0) -> UnitBatch:
    g = torch.Generator().manual_seed(seed)
    enemy = torch.zeros(B, E, dtype=torch.bool)
    enemy[:, n:] = True
    return UnitBatch(
        torch.rand(B, E, 2, generator=g),
        torch.rand(B, E, 2, generator=g) * 20,
        torch.full((B, E), 6.0),
        torch.ones(B, E, dtype=torch.bool),
        enemy,
        torch.randint(0, len(TYPES), (B, E), generator=g),
    )


# ----- masks -----------------------------------------------------------------------------------------
def test_masked_units_are_hidden_from_others_and_each_unit_sees_itself():
    net, x = network(), units()
    members = torch.tensor([[1, 1, 0, 1, 0, 1, 1]] * 3, dtype=torch.bool)
    allowed = view_attention(members)
    assert allowed.diagonal(dim1=1, dim2=2).all()
    h = net.encode(x, allowed, members)
    poked = UnitBatch(**vars(x))
    poked.features = x.features.clone()
    poked.features[:, [2, 4]] += 5.0  # change only the masked units
    h2 = net.encode(poked, allowed, members)
    assert torch.allclose(h[:, members[0]], h2[:, members[0]], atol=1e-6)  # unmasked: untouched
    assert not torch.allclose(h[:, 2], h2[:, 2])  # a masked unit still reads itself
    other = UnitBatch(**vars(x))
    other.features = x.features.clone()
    other.features[:, [0, 1, 3, 5, 6]] -= 3.0  # change every unmasked unit
    h3 = net.encode(other, allowed, members)
    assert torch.allclose(h[:, [2, 4]], h3[:, [2, 4]], atol=1e-6)  # a masked unit sees only itself


def test_random_masks_follow_their_ratio_and_never_include_dead_units():
    g = torch.Generator().manual_seed(0)
    alive = torch.rand(2000, 10, generator=g) < 0.8
    view = random_unit_view(alive, 0.3, 0.3, g)
    assert not (view & ~alive).any()
    assert abs(view.sum() / alive.sum() - 0.7) < 0.02
    assert torch.equal(random_unit_view(alive, 0.0, 0.0, g), alive)
    assert not random_unit_view(alive, 1.0, 1.0, g).any()
    allowed = random_attention(alive[:50], 0.5, 0.5, g)
    assert allowed.diagonal(dim1=1, dim2=2).all()
    off = allowed & ~torch.eye(10, dtype=torch.bool)
    assert not (off & ~alive[:50, None, :]).any()  # dead keys are never read by others


def test_sight_view_matches_smac_sight_range():
    env = rlsuite.make_vec("rlsuite/SMAC-2s3z-v0", 4, entity_features=True)
    obs, _ = team_reset(env, 0)
    policy = FocusFirePolicy(env)
    checked = 0
    for _ in range(40):
        e = obs.entities
        n = e.visible.shape[1]
        dist = np.linalg.norm(e.position[:, None, :, :] - e.position[:, :n, None, :], axis=-1)
        expected = (dist < SIGHT_RANGE) & e.alive[:, :n, None] & e.alive[:, None, :]
        views = decentralized_views(torch.as_tensor(e.visible), torch.as_tensor(e.alive)).numpy()
        assert np.array_equal(views, expected)
        checked += int((~expected & e.alive[:, None, :]).sum())  # living units out of sight
        obs = team_step(env, policy.act(obs)).observation
    assert checked > 0  # some living units were out of sight


def test_decentralized_action_ignores_units_out_of_sight():
    net = network()
    x = units(B=1, E=6, n=3)
    visible = torch.tensor([[[1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 0, 1]]], dtype=torch.bool)
    before = net.decentralized_logits(x, visible)
    x.features[:, 4] += 3.0  # unit 4: seen by agent 1 only
    x.position[:, 4] += 1.0
    after = net.decentralized_logits(x, visible)
    assert torch.allclose(before[:, [0, 2]], after[:, [0, 2]], atol=1e-6)
    assert not torch.allclose(before[:, 1], after[:, 1])


# ----- action heads ------------------------------------------------------------------------------------
def test_interactive_logits_follow_their_targets_when_units_are_permuted():
    net, x, n = network(), units(B=2, E=7, n=3), 3
    perm = torch.tensor([2, 0, 1, 5, 3, 6, 4])  # allies among allies, enemies among enemies
    moved = UnitBatch(*(t[:, perm] for t in vars(x).values()))
    logits = net.centralized_logits(x, n)
    permuted = net.centralized_logits(moved, n)
    assert torch.allclose(permuted[:, :, :K], logits[:, perm[:n], :K], atol=1e-5)
    assert torch.allclose(permuted[:, :, K:], logits[:, perm[:n]][:, :, K + perm], atol=1e-5)


@pytest.mark.parametrize("execution", ["decentralized", "centralized"])
def test_one_network_plays_maps_of_different_sizes(execution):
    shape = NetworkShape(tuple(MaskMAConfig().token_features), rlsuite_unit_types(), K, 16, 1, 2)
    agent = MaskMAAgent(MaskMANetwork(shape), execution, seed=0, device=torch.device("cpu"))
    sizes = set()
    for name in ("3m", "2s3z", "MMM"):  # 6, 10 and 20 units; 9, 11 and 16 actions
        env = rlsuite.make_vec(f"rlsuite/SMAC-{name}-v0", 2, entity_features=True, episode_limit=15)
        result = evaluate_policy(agent, env, 2, deterministic=False, seed=1)  # invalid actions would raise
        assert len(result.wins) == 2
        sizes.add((env.team_spec.entities.n_entities, env.team_spec.n_actions))
    assert len(sizes) == 3


def test_fixed_action_head_refuses_maps_with_more_units_than_slots():
    net, x = network(action_head="fixed", fixed=K + 6), units(E=7)
    with pytest.raises(ValueError, match="6 target slots and this map has 7 units"):
        net.centralized_logits(x, 3)
    assert net.centralized_logits(units(E=6), 3).shape == (3, 3, K + 6)


def test_env_without_the_token_features_is_a_clear_error():
    spec = rlsuite.make_vec("rlsuite/SMAC-3m-v0", 1, entity_features=True).team_spec
    with pytest.raises(ValueError, match=r"cannot feed the model's unit tokens.*'armor'"):
        UnitColumns(spec, ("health", "armor"), rlsuite_unit_types())


def rlsuite_unit_types() -> tuple[str, ...]:
    return rlsuite.make_vec("rlsuite/SMAC-3m-v0", 1, entity_features=True).team_spec.entities.unit_types


# ----- the loss ----------------------------------------------------------------------------------------
def test_loss_ignores_masked_and_dead_units():
    B, n, E = 4, 3, 6
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(B, n, K + E, generator=g, requires_grad=True)
    alive = torch.ones(B, E, dtype=torch.bool)
    alive[:, 1] = False  # agent 1 dead
    learned = alive.clone()
    learned[:, 2] = False  # agent 2 masked
    mask = torch.ones(B, n, K + E, dtype=torch.bool)
    actions = torch.randint(0, K + E, (B, n), generator=g)
    steps = UnitSteps(units(B, E, n), torch.ones(B, n, E, dtype=torch.bool), mask, actions, n)
    steps.units.alive = alive
    loss, stats = bc_loss(logits, steps, learned)
    loss.backward()
    assert logits.grad[:, 1:].abs().sum() == 0 and logits.grad[:, 0].abs().sum() > 0
    assert stats["train/learned_units"] == B
    expected = torch.nn.functional.cross_entropy(logits[:, 0], actions[:, 0])
    assert torch.allclose(loss, expected)
    steps.actions = actions.clone()
    steps.actions[:, 1:] = (actions[:, 1:] + 1) % (K + E)  # other actions for ignored units: same loss
    assert torch.allclose(bc_loss(logits, steps, learned)[0], loss)


# ----- learning ----------------------------------------------------------------------------------------
def test_behaviour_cloning_wins_with_a_fixed_seed(tmp_path, margin):
    """BC on a few hundred expert steps, decentralized execution. The expert is focus fire on 2s3z: no
    scripted policy wins 3m in this simulator (attack-nearest 10-50%, focus fire 10-20%; docs/maskma.md)."""
    expert_win_rate = record("2s3z", 12, tmp_path / "2s3z.npz", seed=0, num_envs=6)
    assert expert_win_rate >= 0.5
    cfg = MaskMAConfig(datasets=[str(tmp_path / "2s3z.npz")], width=32, heads=2, batch_size=32, lr=1e-3)
    algo = MaskMA(EnvConfig(id="rlsuite/SMAC-2s3z-v0", num_envs=8), cfg, seed=0, device="cpu")
    untrained = float(np.mean(algo.evaluate(16).wins))
    algo.learn(120)
    steps = algo.sampler.maps[0].n_steps
    win_rate = float(np.mean(algo.evaluate(32).wins))
    algo.close()
    assert steps < 1000 and untrained <= 0.1
    assert margin("maskma_bc_2s3z_win_rate", win_rate, 0.5)
