"""MaskMA and MADT checkpoints: exact resume, zero-shot `rlsuite eval --env`, and the multi-map report."""

from __future__ import annotations

import json

import pytest
import torch
from maskma_helpers import record

from rlsuite.algos.madt import MADT, MADTConfig
from rlsuite.algos.maskma import MaskMA, MaskMAConfig
from rlsuite.cli import main
from rlsuite.config import EnvConfig
from rlsuite.training.zero_shot import evaluate_on_maps, zero_shot_report

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
