"""Shared learner helpers: schedules, the stats accumulator, returns, target updates, eval seeding."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlsuite.core.optim import polyak_update
from rlsuite.core.returns import IdentityValueNorm, ValueNorm, explained_variance
from rlsuite.core.schedules import LinearSchedule, cosine_anneal, linear_anneal, warmup_factor
from rlsuite.core.seeding import eval_seed
from rlsuite.core.training_stats import MeanAccumulator


def test_linear_anneal_reaches_zero_after_the_planned_iterations():
    # 1000 steps at 300 per iteration: ceil -> 4 iterations
    assert [linear_anneal(i, 1000, 300) for i in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    assert linear_anneal(7, 0, 300) == 1.0  # no planned horizon: no annealing


def test_cosine_anneal_and_warmup_and_linear_schedule():
    assert cosine_anneal(0, 1.0, 0.1, 10) == 1.0
    assert cosine_anneal(5, 1.0, 0.1, 10) == pytest.approx(0.55)
    assert cosine_anneal(10, 1.0, 0.1, 10) == cosine_anneal(99, 1.0, 0.1, 10) == pytest.approx(0.1)
    assert cosine_anneal(3, 2.0, 0.0, 12) == pytest.approx(1.0 + math.cos(math.pi / 4))
    assert [warmup_factor(s, 4) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0
    eps = LinearSchedule(1.0, 0.0, 4)
    assert [eps(s) for s in (0, 2, 4, 9)] == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="duration"):
        LinearSchedule(1.0, 0.0, -1)


def test_mean_accumulator_averages_tensors_and_floats_and_round_trips():
    acc = MeanAccumulator()
    assert acc.pop_means() == {} and not acc
    acc.add({"loss": torch.tensor(1.0), "q": 3.0})
    acc.add({"loss": torch.tensor(2.0), "q": 5.0})
    saved = acc.state_dict()
    assert acc.pop_means("train/") == {"train/loss": 1.5, "train/q": 4.0}
    assert len(acc) == 0
    restored = MeanAccumulator()
    restored.load_state_dict(saved, "cpu")
    restored.add({"loss": torch.tensor(6.0), "q": 1.0})
    assert restored.pop_means() == {"loss": 3.0, "q": 3.0}


def test_polyak_update_moves_targets_and_ignores_modules_without_parameters():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    expected = [0.25 * s + 0.75 * t for s, t in zip(source.parameters(), target.parameters())]
    polyak_update(target, source, 0.25)
    for got, want in zip(target.parameters(), expected):
        torch.testing.assert_close(got, want)
    polyak_update(nn.Identity(), nn.Identity(), 0.5)  # no parameters: nothing to do, no error


def test_explained_variance_and_value_norm():
    target = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == 1.0
    assert explained_variance(np.full(4, 2.5), target) == pytest.approx(0.0)
    assert math.isnan(explained_variance(target, np.ones(4)))
    norm = ValueNorm(beta=0.5)
    norm.update(np.array([10.0, 14.0]))
    mean, var = norm.mean_var()
    assert mean == pytest.approx(12.0) and var == pytest.approx(4.0)  # debiased: exact after one batch
    np.testing.assert_allclose(norm.denormalize(norm.normalize(target)), target)
    assert IdentityValueNorm().normalize(target) is target


def test_eval_seed_is_offset_from_the_training_seed_and_moves_with_the_step():
    assert eval_seed(3) == 3 + 1_000_003
    assert eval_seed(3, 500) == eval_seed(3) + 500
