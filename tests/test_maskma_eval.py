"""MaskMA and MADT checkpoints: exact resume, zero-shot `rlsuite eval --env`, and the multi-map report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from maskma_helpers import record

from rlsuite.algos.madt import MADT, MADTConfig
from rlsuite.algos.maskma import MaskMA, MaskMAConfig
from rlsuite.cli import main
from rlsuite.config import EnvConfig
from rlsuite.envs.smac.downstream import VariedPolicyTeamEnv
from rlsuite.training.zero_shot import evaluate_on_maps, zero_shot_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

ENV = EnvConfig(id="rlsuite/SMAC-2s3z-v0", num_envs=2)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("maskma") / "2s3z.npz"
    record("2s3z", 2, path, num_envs=2)
    return str(path)


def tiny(data, **keys) -> MaskMAConfig:
    return MaskMAConfig(datasets=[data], width=8, depth=1, heads=2, batch_size=8, **keys)


def test_resume_is_exact(data, tmp_path):
    whole = MaskMA(ENV, tiny(data), seed=3, device="cpu").learn(12)
    first = MaskMA(ENV, tiny(data), seed=3, device="cpu").learn(6)
    first.save(tmp_path / "half.pt")
    resumed = MaskMA.load(tmp_path / "half.pt", device="cpu").learn(12)
    for a, b in zip(whole.net.parameters(), resumed.net.parameters()):
        assert torch.equal(a, b)


def test_eval_on_another_map_and_madt_refusal(data, tmp_path, capsys):
    MaskMA(ENV, tiny(data), seed=0, device="cpu").learn(2).save(tmp_path / "maskma.pt")
    MADT(ENV, MADTConfig(datasets=[data], batch_size=8), seed=0, device="cpu").learn(2).save(
        tmp_path / "madt.pt"
    )
    args = ["eval", str(tmp_path / "maskma.pt"), "--episodes", "2", "--env", "rlsuite/SMAC-3m-v0"]
    assert main([*args, "--set", "algo.execution=centralized"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["env"] == "rlsuite/SMAC-3m-v0" and report["episodes"] == 2
    assert main(["eval", str(tmp_path / "madt.pt"), "--episodes", "2", "--env", "rlsuite/SMAC-3m-v0"]) == 2
    err = capsys.readouterr().err
    assert "cannot act on rlsuite/SMAC-3m-v0" in err and "[11] actions" in err and "Traceback" not in err
    assert main([*args, "--set", "algo.execution=everywhere"]) == 2
    assert "algo.execution" in capsys.readouterr().err
    maps = ["rlsuite/SMAC-2s3z-v0", "rlsuite/SMAC-3m-v0"]
    outcomes = evaluate_on_maps(tmp_path / "madt.pt", maps, 2, method="madt", seed=0)
    outcomes += evaluate_on_maps(tmp_path / "maskma.pt", maps, 2, method="maskma", seed=0)
    report = zero_shot_report(outcomes, {maps[0]: "training", maps[1]: "out of family"}, resamples=200)
    assert report.cells["madt"][maps[1]].win_rate is None and "actions" in report.cells["madt"][maps[1]].note
    assert report.cells["maskma"][maps[1]].battles == 2
    assert "n/a" in report.markdown()


def test_evaluate_on_maps_applies_env_kwargs_and_wrapper(data, tmp_path):
    """Downstream tasks reach the eval env: the malfunction option restricts agent 0 to stop, and the
    wrapper (varied-policy collaboration) drives agent 1 with the heuristic."""
    MaskMA(ENV, tiny(data), seed=0, device="cpu").learn(2).save(tmp_path / "maskma.pt")
    masks, driven = [], []

    class Spy(VariedPolicyTeamEnv):
        def step(self, actions):
            out = super().step(actions)
            masks.append(out[4]["action_mask"][:, 0].copy())
            driven.append(out[4]["driven_actions"].copy())
            return out

    kwargs = {"downstream": {"malfunction_agents": [0], "malfunction_step": 0}}
    (outcome,) = evaluate_on_maps(
        tmp_path / "maskma.pt",
        ["rlsuite/SMAC-2s3z-v0"],
        2,
        method="maskma",
        seed=0,
        env_kwargs=kwargs,
        wrap_env=lambda env: Spy(env, "heuristic", (1,)),
    )
    assert len(outcome.wins) == 2 and not outcome.not_playable
    assert masks and all(m.sum(-1).max() == 1 for m in masks)  # stop (or no-op once dead) only
    assert all(d.shape == (2, 1) for d in driven)
    (plain,) = evaluate_on_maps(tmp_path / "maskma.pt", ["rlsuite/SMAC-2s3z-v0"], 2, method="m", seed=0)
    assert len(plain.wins) == 2


def test_downstream_cases_and_report(tmp_path):
    import maskma_downstream as ds

    cases = ds.downstream_cases()
    tasks = {c.task for c in cases}
    assert tasks == {*ds.TASKS, "none"}
    for case in cases:
        n = len(ds.agent_types(case.map))
        assert all(0 <= a < n for a in case.agents)
        assert any(c.task == "none" and c.map == case.map for c in cases)
    join = next(c for c in cases if c.task == "ad hoc team play" and c.map == "5m")
    assert join.downstream == {"join_agents": [4], "join_fraction": 0.2} and join.wrapper() is None
    varied = next(c for c in cases if c.task == "varied-policy collaboration" and c.map == "2s4z")
    assert varied.agents == (0, 1, 2) and varied.env_kwargs() == {} and varied.wrapper() is not None
    picked = [c for c in cases if c.map == "5m"]
    results = [{c.key: [True] * 4 if c.task == "none" else [True, False, False, False] for c in picked}]
    path = ds.downstream_report(picked, results * 2, {"5m": [False, True]}, tmp_path)
    rows = json.loads((tmp_path / "report.json").read_text())
    assert len(rows) == 1 and rows[0]["without"][0] == 1.0 and rows[0]["with_perturbation"][0] == 0.25
    assert rows[0]["battles"] == 8 and rows[0]["heuristic_team"] == 0.5
    assert "| ad hoc team play | 5m | 4 (marine) | 100.0 [100.0, 100.0] | 25.0 [" in path.read_text()


def test_reference_average_covers_the_unseen_maps_the_reference_wins():
    """The reference row averages each method over the unseen maps the reference wins >= solved_at (never a
    training map), with the same stratified mean as the other rows."""
    from rlsuite.training.zero_shot import MapOutcome

    groups = {"train": "training", "a": "out of family", "b": "unseen, training family", "c": "out of family"}
    expert = {"train": [1, 1, 1, 1], "a": [1, 1, 1, 1], "b": [1, 1, 1, 0], "c": [1, 0, 0, 0]}  # b: 75%
    model = {"train": [1, 1, 1, 1], "a": [1, 1, 0, 0], "b": [1, 0, 0, 0], "c": [0, 0, 0, 0]}
    outcomes = [MapOutcome("expert: focus_fire", 0, m, [bool(w) for w in wins]) for m, wins in expert.items()]
    outcomes += [MapOutcome("maskma", 0, m, [bool(w) for w in wins]) for m, wins in model.items()]
    report = zero_shot_report(outcomes, groups, resamples=200, reference="expert: focus_fire", solved_at=0.75)
    assert report.solved_maps == ["a", "b"]
    cell = report.averages["maskma"][report.solved_group]
    assert cell.win_rate == pytest.approx((0.5 + 0.25) / 2) and cell.battles == 8
    assert report.averages["expert: focus_fire"][report.solved_group].win_rate == pytest.approx(0.875)
    assert f"| {report.solved_group} (2 maps) |" in report.markdown()
    plain = zero_shot_report(outcomes, groups, resamples=200)
    assert plain.solved_group == "" and plain.averages["maskma"].keys() == {
        "training",
        "unseen, training family",
        "out of family",
        "all unseen",
    }
    with pytest.raises(ValueError, match="reference 'oracle' is not among the methods"):
        zero_shot_report(outcomes, groups, reference="oracle")


def test_scripted_expert_on_maps_records_each_battle():
    from rlsuite.training.zero_shot import evaluate_scripted_on_maps

    outcomes = evaluate_scripted_on_maps("focus_fire", ["rlsuite/SMAC-3m-v0"], 4, seed=1, num_envs=4)
    (outcome,) = outcomes
    assert outcome.method == "expert: focus_fire" and len(outcome.wins) == 4
    assert sum(outcome.wins) >= 3  # focus fire wins 3m (100% of 64 battles in the expert benchmark)
