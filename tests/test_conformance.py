"""The conformance runner (``rlsuite.envs.checks``, ``rlsuite envs --check``): a representative id of every
family passes every applicable check by default; the whole registry runs under the ``slow`` mark; a broken
env is caught; ids whose optional engine is missing are reported as skipped with the reason."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlsuite
from rlsuite.cli import main
from rlsuite.envs.checks import FAILED, PASSED, SKIPPED, run_conformance
from rlsuite.envs.registry import _REGISTRY, list_envs

REPRESENTATIVES = {
    "classic": "rlsuite/CartPole-v1",
    "mujoco": "rlsuite/Hopper-v5",
    "gridworld": "rlsuite/Taxi-v0",
    "text": "rlsuite/MazeText-v0",
    "reasoning": "rlsuite/LinearEquation-v0",
    "smac": "rlsuite/SMAC-2s3z-v0",
    "smacv2": "rlsuite/SMAC-10gen_terran_5_vs_5-v0",
    "football": "rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0",
}
# Checks that must pass (not just run) for these ids: the originals' checker, SB3's, PettingZoo's render test.
MUST_PASS = {
    "rlsuite/CartPole-v1": {"gymnasium_env_match", "sb3_check_env"},
    "rlsuite/Hopper-v5": {"gymnasium_env_match", "sb3_check_env", "gymnasium_check_env"},
    "rlsuite/Taxi-v0": {"gymnasium_env_match"},
    "rlsuite/SMAC-2s3z-v0": {"render_test", "aec_api_test", "vector_seeding"},
    "rlsuite/GRFSim-academy_3_vs_1_with_keeper-v0": {"render_test", "vector_seeding"},
}


@pytest.mark.parametrize("env_id", list(REPRESENTATIVES.values()))
def test_a_representative_of_every_family_passes(env_id):
    report = run_conformance([env_id], steps=60)
    assert report.failures() == []
    statuses = {r.check: r.status for r in report.results}
    assert {c for c, s in statuses.items() if s == PASSED} >= MUST_PASS.get(env_id, {"determinism", "inputs"})
    skipped = {r.check: r.detail for r in report.results if r.status == SKIPPED}
    assert set(skipped) <= {"gymnasium_env_match", "sb3_check_env"}  # no original / Text spaces only
    assert all(("no Gymnasium original" in d) or ("Text" in d) for d in skipped.values())


def test_ids_without_their_engine_are_skipped_with_the_reason():
    report = run_conformance(["rlsuite/GRF-academy_3_vs_1_with_keeper-v0"])
    if not rlsuite.spec("rlsuite/GRF-academy_3_vs_1_with_keeper-v0").missing_requirements():
        pytest.skip("gfootball is installed here")
    assert {r.status for r in report.results} == {SKIPPED}
    assert all("needs gfootball" in r.detail for r in report.results)
    assert report.ids(SKIPPED) == ["rlsuite/GRF-academy_3_vs_1_with_keeper-v0"]


class _Unseeded(gym.Env):
    """Ignores its seed (draws from OS entropy) and returns a Python int reward: the runner must say so."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.random.default_rng().uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.random.default_rng().uniform(-1, 1, 2).astype(np.float32)
        return obs, 1.0, False, self.t >= 5, {}


def test_a_broken_env_fails_the_checks_that_catch_it(capsys):
    rlsuite.register("test/Unseeded-v0", entry_point=_Unseeded, family="test", override=True)
    try:
        report = run_conformance(["test/Unseeded-v0"], checks=["determinism", "vector_seeding", "inputs"])
        status = {r.check: r.status for r in report.results}
        assert status["determinism"] == status["vector_seeding"] == FAILED
        assert status["inputs"] == FAILED  # it accepts reset(options=[1])
        assert report.ids(FAILED) == ["test/Unseeded-v0"]
        assert main(["envs", "--check", "test/Unseeded-v0", "--checks", "determinism"]) == 1
        assert "FAILED test/Unseeded-v0 determinism" in capsys.readouterr().out
    finally:
        _REGISTRY.pop("test/Unseeded-v0")
        del gym.registry["test/Unseeded-v0"]


def test_cli_runs_chosen_checks_and_rejects_unknown_names(capsys, tmp_path):
    table = tmp_path / "table.md"
    code = main(
        ["envs", "--check", "rlsuite/CartPole-v1", "--checks", "determinism,inputs", "--markdown", str(table)]
    )
    out = capsys.readouterr().out
    assert code == 0 and "1 ids: 1 passing every applicable check" in out
    assert table.read_text().splitlines()[2] == "| rlsuite/CartPole-v1 | ✓ | ✓ |"
    assert main(["envs", "--check", "rlsuite/CartPole-v1", "--checks", "nope"]) == 2
    assert "unknown checks ['nope']" in capsys.readouterr().err
    assert main(["envs", "--check", "rlsuite/CartPol-v1"]) == 2
    assert "closest registered ids" in capsys.readouterr().err


def test_every_family_has_a_representative():
    families = {rlsuite.spec(i).family for i in list_envs()} - {"test"}
    assert families <= set(REPRESENTATIVES) | {"smac"}


@pytest.mark.slow
def test_the_whole_registry_passes():
    report = run_conformance()
    assert report.failures() == [], report.failures()
    missing = {i for i in list_envs() if rlsuite.spec(i).missing_requirements()}
    assert set(report.ids(SKIPPED)) == missing
