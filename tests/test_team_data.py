"""Team datasets (rlsuite.offline.team_data): record SMAC episodes, save, load without pickle, merge."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np
import pytest

from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.offline.dataset import DatasetError
from rlsuite.offline.team_collect import (
    HeuristicTeamPolicy,
    collect_team_episodes,
    dataset_meta,
    epsilon_actions,
)
from rlsuite.offline.team_data import (
    STEP_FIELDS,
    ExpertInfo,
    entity_layout_actions,
    episodes_to_dataset,
    load_team_dataset,
    load_team_datasets,
    merge_team_datasets,
    save_team_dataset,
)


def _record(map_name: str, episodes: int, seed: int = 0, epsilon: float = 0.0):
    env = SMACVectorEnv(map_name, 4, entity_features=True)
    expert = ExpertInfo(name="heuristic", algo="heuristic", win_rate=1.0, eval_episodes=8)
    result = collect_team_episodes(
        env, HeuristicTeamPolicy(env), episodes, seed=seed, epsilon=epsilon, progress=False
    )
    meta = dataset_meta(env, f"rlsuite/SMAC-{map_name}-v0", expert, seed=seed)
    return result, meta


@pytest.fixture(scope="module")
def recorded_3m():
    return _record("3m", 6)


def test_recorded_episodes_match_the_env_layout(recorded_3m, tmp_path):
    result, meta = recorded_3m
    assert len(result.episodes) == 6
    for episode in result.episodes:
        t = len(episode)
        assert 1 <= t <= meta.episode_limit
        assert episode.entity_state.shape == (t, 6, meta.feature_size)
        assert episode.entity_visible.shape == (t, 3, 6)
        assert episode.entity_action_mask.shape == (t, 3, 6 + 6)
        assert episode.obs.shape == (t, 3, meta.obs_size) and episode.state.shape == (t, meta.state_size)
        # exactly the last step ends the episode
        ends = episode.terminated | episode.truncated
        assert ends[-1] and not ends[:-1].any()
        # every action taken was available, in both layouts
        taken = np.take_along_axis(episode.action_mask, episode.actions[..., None].astype(int), -1)
        assert taken.all()
        ent = np.take_along_axis(
            episode.entity_action_mask, episode.entity_actions[..., None].astype(int), -1
        )
        assert ent.all()
        # marines attack enemies: entity actions >= 6 point at enemy units 3..5
        attacks = episode.entity_actions[episode.actions >= 6]
        assert ((attacks >= 6 + 3) & (attacks < 6 + 6)).all()
        assert (episode.entity_type == 0).all()  # marine is unit type 0 of the global vocabulary
    assert result.win_rate == np.mean([e.won for e in result.episodes])
    # a won episode ends by termination with every enemy dead
    for episode in result.episodes:
        if episode.won:
            assert episode.terminated[-1] and episode.rewards.sum() > 0


def test_save_load_roundtrip_without_pickle(recorded_3m, tmp_path):
    result, meta = recorded_3m
    path = save_team_dataset(tmp_path / "3m.npz", result.episodes, meta)
    data = load_team_dataset(path)
    assert data.num_episodes == 6 and data.meta.episodes == 6
    assert data.meta.steps == sum(len(e) for e in result.episodes) == data.num_steps
    assert data.meta.wins == sum(e.won for e in result.episodes)
    assert data.meta.feature_names == meta.feature_names and data.meta.expert == meta.expert
    assert data.meta.created and data.meta.rlsuite_version
    for i, original in enumerate(result.episodes):
        loaded = data.episode(i)
        assert loaded.won == original.won
        for name in STEP_FIELDS:
            np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name), err_msg=name)
    # every array in the file loads with allow_pickle=False (no object arrays)
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    np.testing.assert_allclose(data.episode_returns(), [e.episode_return for e in result.episodes], rtol=1e-6)


def test_step_batches_cover_every_step_once(recorded_3m, tmp_path):
    result, meta = recorded_3m
    data = load_team_dataset(save_team_dataset(tmp_path / "3m.npz", result.episodes, meta))
    seen = []
    for batch in data.iter_batches(32, seed=1):
        assert len(batch) <= 32
        seen.append(np.stack([batch.episode, batch.timestep], 1))
        # rows carry the right episode's data
        ep, t = int(batch.episode[0]), int(batch.timestep[0])
        np.testing.assert_array_equal(batch.obs[0], result.episodes[ep].obs[t])
    pairs = np.concatenate(seen)
    assert len(pairs) == data.num_steps and len({tuple(p) for p in pairs}) == data.num_steps
    assert sum(len(b) for b in data.iter_batches(32, drop_last=True)) == data.num_steps // 32 * 32


def test_merge_same_map_and_group_by_map(recorded_3m, tmp_path):
    result, meta = recorded_3m
    a = save_team_dataset(tmp_path / "a.npz", result.episodes[:2], meta)
    b = save_team_dataset(tmp_path / "b.npz", result.episodes[2:], dataclasses.replace(meta, seed=5))
    other, other_meta = _record("2s3z", 2, seed=3)
    c = save_team_dataset(tmp_path / "c.npz", other.episodes, other_meta)
    by_map = load_team_datasets([a, c, b])
    assert list(by_map) == ["3m", "2s3z"]
    merged = by_map["3m"]
    assert merged.num_episodes == 6 and merged.meta.sources == (str(a), str(b))
    np.testing.assert_array_equal(merged.episode(3).actions, result.episodes[3].actions)
    assert by_map["2s3z"].meta.unit_types == meta.unit_types  # one vocabulary for every map
    with pytest.raises(DatasetError, match="different layouts: map_name"):
        merge_team_datasets([load_team_dataset(a), load_team_dataset(c)])


def test_epsilon_actions_stay_available():
    rng = np.random.default_rng(0)
    mask = np.zeros((50, 3, 9), dtype=bool)
    mask[..., 0] = True
    mask[:, :, 6:] = rng.random((50, 3, 3)) < 0.5
    greedy = np.zeros((50, 3), dtype=np.int64)
    noisy = epsilon_actions(greedy, mask, 1.0, rng)
    assert np.take_along_axis(mask, noisy[..., None], -1).all()
    assert (noisy != 0).any()
    assert (epsilon_actions(greedy, mask, 0.0, rng) == 0).all()


def test_action_noise_executes_random_actions_and_records_the_policys_own():
    """Noise injection (DART): the env gets random actions at the given rate, the rows keep the expert's."""
    env = SMACVectorEnv("3m", 4, entity_features=True)
    policy = HeuristicTeamPolicy(env)
    chosen: dict[bytes, np.ndarray] = {}  # state row -> the policy's action for it
    executed: list[tuple[np.ndarray, np.ndarray]] = []  # (the policy's actions, what the env got)
    policy_step, env_step = policy.step, env.step

    def spy_policy(observation, state=None, deterministic=False):
        actions, state = policy_step(observation, state, deterministic)
        for row, action in zip(observation.state, np.asarray(actions)):
            chosen[row.tobytes()] = np.array(action)
        executed.append((np.array(actions),))
        return actions, state

    def spy_env(actions):
        executed[-1] += (np.array(actions),)
        return env_step(actions)

    policy.step, env.step = spy_policy, spy_env
    result = collect_team_episodes(env, policy, 6, seed=3, action_noise=0.3, progress=False)
    assert result.action_noise == 0.3
    rows = [(s, a) for e in result.episodes for s, a in zip(e.state, e.actions)]
    assert all((chosen[s.tobytes()] == a).all() for s, a in rows)
    wanted = np.concatenate([w for w, _ in executed])
    got = np.concatenate([g for _, g in executed])
    changed = (wanted != got).mean()  # a random draw may repeat the policy's action
    assert 0.1 < changed < 0.3
    with pytest.raises(ValueError, match=r"action_noise must be a number in \[0, 1\], got 1.5"):
        collect_team_episodes(env, policy, 1, action_noise=1.5, progress=False)
    env.close()


def test_action_noise_is_kept_in_the_metadata(recorded_3m, tmp_path):
    result, meta = recorded_3m
    noisy = dataclasses.replace(meta, expert=dataclasses.replace(meta.expert, action_noise=0.15))
    path = save_team_dataset(tmp_path / "n.npz", episodes_to_dataset(result.episodes, noisy))
    assert load_team_dataset(path).meta.expert.action_noise == 0.15


def test_entity_layout_actions_follow_targets():
    target = np.full((1, 2, 8), -1)
    target[0, 0, 6:] = [3, 4]  # an attacker: env 6 + e -> unit n_agents + e
    target[0, 1, 6:] = [0, 1]  # a healer: env 6 + j -> ally j
    out = entity_layout_actions(np.array([[7, 6]]), target, 6)
    np.testing.assert_array_equal(out, [[6 + 4, 6 + 0]])
    np.testing.assert_array_equal(entity_layout_actions(np.array([[2, 0]]), target, 6), [[2, 0]])


def test_bad_files_are_rejected_with_the_field_named(recorded_3m, tmp_path):
    result, meta = recorded_3m
    path = save_team_dataset(tmp_path / "3m.npz", result.episodes, meta)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    broken = dict(arrays, obs=arrays["obs"][:, :, :-1])
    np.savez(tmp_path / "bad.npz", **broken)
    with pytest.raises(DatasetError, match="'obs' has shape"):
        load_team_dataset(tmp_path / "bad.npz")
    missing = {k: v for k, v in arrays.items() if k != "entity_visible"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(DatasetError, match="entity_visible"):
        load_team_dataset(tmp_path / "missing.npz")
    # a pickled object array is refused, not unpickled
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as archive:
        for name, value in arrays.items():
            if name == "won":
                continue
            inner = io.BytesIO()
            np.save(inner, value)
            archive.writestr(f"{name}.npy", inner.getvalue())
        archive.writestr("won.npy", buffer.getvalue())
    with pytest.raises(DatasetError, match="without pickled objects"):
        load_team_dataset(tmp_path / "pickled.npz")
    with pytest.raises(FileNotFoundError, match="rlsuite data collect"):
        load_team_dataset(tmp_path / "absent.npz")


def _write_pipeline(root, maps, attempts, **settings):
    (root / "experts").mkdir(parents=True, exist_ok=True)
    lines = [f"out: {root / 'out'}", f"maps: [{', '.join(maps)}]"] + [
        f"{k}: {v}" for k, v in settings.items()
    ]
    (root / "pipeline.yaml").write_text("\n".join(lines) + "\n")
    for name in maps:
        (root / "experts" / f"{name}.yaml").write_text(attempts)
    return root / "pipeline.yaml"


def test_pipeline_gates_records_and_resumes(tmp_path, capsys):
    from rlsuite.cli import main
    from rlsuite.offline.team_pipeline import run_pipeline

    path = _write_pipeline(
        tmp_path, ["1c_vs_4zg", "3m"], "attempts:\n  - policy: heuristic\n", episodes=6, eval_episodes=8
    )
    reports = {r.map: r for r in run_pipeline(path, quiet=True)}
    # the heuristic wins 1c_vs_4zg every time and 3m rarely: only the first passes the 80% gate
    assert reports["1c_vs_4zg"].win_rate == 1.0 and reports["1c_vs_4zg"].episodes == 6
    assert reports["3m"].dataset == "" and reports["3m"].attempts[0]["accepted"] is False
    data = load_team_dataset(tmp_path / "out" / "data" / "1c_vs_4zg.npz")
    assert (
        data.num_episodes == 6 and data.meta.expert.name == "heuristic" and data.meta.expert.win_rate == 1.0
    )
    stages = sorted(p.name for p in (tmp_path / "out" / "stages").iterdir())
    assert stages == [
        "1c_vs_4zg.attempt0.json",
        "1c_vs_4zg.data.json",
        "1c_vs_4zg.expert.json",
        "3m.attempt0.json",
    ]
    # a rerun skips what is done (the dataset is not rewritten) and re-reports the failed map
    before = (tmp_path / "out" / "data" / "1c_vs_4zg.npz").stat().st_mtime_ns
    assert main(["data", "pipeline", str(path), "--quiet"]) == 1
    assert (tmp_path / "out" / "data" / "1c_vs_4zg.npz").stat().st_mtime_ns == before
    assert "(done before)" in capsys.readouterr().out


def test_pipeline_files_are_checked(tmp_path):
    from rlsuite.offline.team_pipeline import load_pipeline

    path = _write_pipeline(tmp_path, ["3m"], "attempts:\n  - policy: scripted\n")
    with pytest.raises(ValueError, match="scripted policies: heuristic, focus_fire"):
        load_pipeline(path)
    path = _write_pipeline(tmp_path, ["3m"], "attempts:\n  - policy: heuristic\n", episode=5)
    with pytest.raises(ValueError, match=r"unknown keys \['episode'\]"):
        load_pipeline(path)
    path = _write_pipeline(tmp_path, ["3m"], "attempts:\n  - train: x.yaml\n")
    with pytest.raises(ValueError, match="'steps' must be >= 1"):
        load_pipeline(path)
    path = _write_pipeline(tmp_path, ["3m"], "attempts:\n  - policy: heuristic\n", action_noise=2)
    with pytest.raises(ValueError, match=r"pipeline.yaml: action_noise must be a number in \[0, 1\], got 2"):
        load_pipeline(path)
    path = _write_pipeline(tmp_path, ["3m"], "attempts:\n  - policy: heuristic\n", action_noise=0.15)
    assert load_pipeline(path).action_noise == 0.15


def test_data_collect_cli_for_team_envs(tmp_path, capsys):
    from rlsuite.cli import main

    out = tmp_path / "h.npz"
    args = ["data", "collect", "--env", "rlsuite/SMAC-1c_vs_4zg-v0", "--policy", "heuristic"]
    assert main([*args, "--episodes", "4", "--eval-episodes", "4", "--out", str(out)]) == 0
    assert "expert heuristic win rate 1.00 over 4 battles" in capsys.readouterr().out
    assert main(["data", "info", str(out)]) == 0
    assert "team dataset of 1c_vs_4zg, 4 episodes" in capsys.readouterr().out
    assert (
        main(["data", "collect", "--env", "rlsuite/SMAC-3m-v0", "--policy", "nowhere", "--out", "x.npz"]) != 0
    )
    bad = [*args, "--action-noise", "1.5", "--out", str(tmp_path / "bad.npz")]
    assert main(bad) != 0
    assert "action_noise must be a number in [0, 1], got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()
