"""Strict configs (issue 18 §5): invalid values, YAML faults and path escapes are refused before anything
runs, with one message naming the key; ``rlsuite train --dry-run`` checks and builds without writing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from rlsuite.cli import main
from rlsuite.config import ConfigError, experiment_to_dict, load_yaml, parse_overrides
from rlsuite.core.strict_yaml import MAX_DEPTH, MAX_VALUES
from rlsuite.sweeps.spec import SweepError, load_sweep
from rlsuite.training.experiment import build_experiment, dry_run, load_experiment, train
from rlsuite.training.preflight import check_experiment

REPO = Path(__file__).resolve().parent.parent
CARTPOLE = REPO / "experiments" / "ppo" / "cartpole.yaml"
SMALL = ["total_steps=64", "env.num_envs=2", "algo.num_steps=32", "algo.minibatch_size=32"]


def refused(overrides: list[str], path: Path = CARTPOLE) -> str:
    """The message of the ConfigError that resolving and checking ``path`` + ``overrides`` raises."""
    with pytest.raises(ConfigError) as info:
        check_experiment(load_experiment(path, overrides))
    return str(info.value)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("algo.lr=1e309", "algo.lr"),
        ("algo.gamma=.nan", "algo.gamma"),
        ("algo.ent_coef=inf", "algo.ent_coef"),
        ("algo.ent_coef=-.inf", "algo.ent_coef"),
        ("algo.log_std_init=nan", "algo.log_std_init"),  # a float without any range
        ("algo.vf_coef=" + "9" * 400, "algo.vf_coef"),  # an int too large for a float
    ],
)
def test_non_finite_floats_are_refused_naming_the_key(override, key):
    message = refused([override])
    assert message.startswith(f"{key}: expected a finite float") and "NaN and infinities" in message


def test_non_finite_values_inside_free_form_kwargs_are_refused():
    assert refused(["env.kwargs={max_episode_steps: .nan}"]).startswith(
        "env.kwargs.max_episode_steps: expected a finite"
    )


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), "1e30"])
def test_ints_must_fit_in_64_bits(value):
    assert refused([f"total_steps={value}"]).startswith("total_steps: expected an int that fits in 64 bits")


@pytest.mark.parametrize(
    ("path", "override", "message"),
    [
        (CARTPOLE, "algo.hidden_sizes=[0, 0]", "algo.hidden_sizes[0]: expected an int >= 1, got 0"),
        (CARTPOLE, "algo.hidden_sizes=[64, -3]", "algo.hidden_sizes[1]: expected an int >= 1, got -3"),
        ("sac/pendulum", "algo.hidden_sizes=[0]", "algo.hidden_sizes[0]: expected an int >= 1, got 0"),
        (
            "mpdp/pendulum",
            "algo.model_hidden_sizes=[200, 0]",
            "algo.model_hidden_sizes[1]: expected an int >= 1",
        ),
        ("mappo/3m", "algo.hidden_sizes=[0, 64]", "algo.hidden_sizes[0]: expected an int >= 1, got 0"),
    ],
)
def test_hidden_sizes_below_one_are_refused(path, override, message):
    path = path if isinstance(path, Path) else REPO / "experiments" / f"{path}.yaml"
    assert refused([override], path).startswith(message)


def test_no_hidden_layer_is_still_accepted():
    assert load_experiment(CARTPOLE, ["algo.hidden_sizes=[]"]).algo.hidden_sizes == ()


@pytest.mark.parametrize("seed", [2**32, 2**64, -1])
def test_seeds_outside_the_seeding_range_are_refused_naming_seed(seed):
    message = refused([f"seed={seed}"])
    assert message.startswith("seed: expected an int")
    assert "4294967295" in message or "64 bits" in message


def test_the_largest_seed_is_accepted():
    assert load_experiment(CARTPOLE, [f"seed={2**32 - 1}"]).seed == 2**32 - 1


# --- YAML ----------------------------------------------------------------------------------------
def test_duplicate_keys_are_refused_with_the_dotted_key_and_both_lines(tmp_path):
    path = write(
        tmp_path,
        """\
        env: {id: rlsuite/CartPole-v1}
        algo:
          name: ppo
          lr: 1.0e-3
          gamma: 0.9
          lr: 3.0e-4
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == (
        f"invalid YAML in '{path}' at line 6, column 3: duplicate key 'algo.lr' (first given at line 4); "
        "a mapping takes each key once"
    )


def test_a_duplicate_section_and_a_duplicate_inside_an_override_are_refused(tmp_path):
    path = write(tmp_path, "seed: 1\nenv: {id: rlsuite/CartPole-v1}\nseed: 2\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'seed' \(first given at line 1\)"):
        load_yaml(path)
    with pytest.raises(ConfigError, match=r"duplicate key 'x'"):
        parse_overrides(["env.kwargs={x: 1, x: 2}"])


def test_merge_keys_may_still_override_what_they_merge(tmp_path):
    path = write(tmp_path, "base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  b: 3\n")
    assert load_yaml(path)["other"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("loop: &a [1, *a]\n", "'loop[1]' refers to an anchor that contains it (a recursive alias)"),
        ("m: &m {self: *m}\n", "'m.self' refers to an anchor that contains it"),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", f"nesting deeper than {MAX_DEPTH} levels"),
        ("n: " + "7" * 5000 + "\n", "'n': a number of 5000 characters"),
        ("x: !!python/object/apply:os.system ['echo no']\n", "could not determine a constructor for the tag"),
    ],
)
def test_recursive_deep_huge_and_unsafe_yaml_is_refused_cleanly(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_yaml(write(tmp_path, text))
    assert expected in str(info.value) and "at line" in str(info.value)


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values
    with pytest.raises(ConfigError, match=f"expands to more than {MAX_VALUES} values"):
        load_yaml(write(tmp_path, "\n".join(levels) + "\n"))


def test_deep_aliases_stacked_on_each_other_are_refused(tmp_path):
    nested = "[" * 20 + "1" + "]" * 20
    text = f"a: &a {nested}\nb: &b {'[' * 20}*a{']' * 20}\n"
    with pytest.raises(ConfigError, match="nests deeper than 32 levels once aliases are expanded"):
        load_yaml(write(tmp_path, text))


def test_an_override_key_with_too_many_parts_is_refused():
    with pytest.raises(ConfigError, match="more than 32 dotted parts"):
        parse_overrides(["a." * 100 + "b=1"])


def test_a_file_that_is_not_utf8_or_holds_a_nul_is_refused(tmp_path):
    binary = tmp_path / "bad.yaml"
    binary.write_bytes(b"seed: \xff\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_yaml(binary)
    with pytest.raises(ConfigError, match=r"at character 7: special characters are not allowed \(#x0000\)"):
        load_yaml(write(tmp_path, "seed: \x00\n"))


# --- keys that do not apply, env kwargs ------------------------------------------------------------
def test_an_offline_section_on_an_algorithm_that_never_reads_it_is_refused():
    message = refused(["offline.dataset=data/hopper-medium.hdf5"])
    assert message.startswith("offline.dataset: ppo does not read the offline section")
    assert "td3bc" in message and "so2" in message


def test_the_offline_section_is_accepted_where_it_is_read():
    config = load_experiment(REPO / "experiments/offline/td3bc_hopper_medium.yaml")
    assert config.algo.name == "td3bc" and config.offline.dataset  # the section is set...
    check_experiment(config)  # ...and accepted (a refusal raises ConfigError)


def test_unknown_env_kwargs_are_refused_listing_the_accepted_ones():
    message = refused(["env.kwargs={no_such_option: 1}"])
    assert message == (
        "env.kwargs: rlsuite/CartPole-v1 takes no keyword argument(s) 'no_such_option'; accepted: "
        "kinematics_integrator, max_episode_steps, random_stream, render_mode, sutton_barto_reward"
    )
    message = refused(["env.kwargs.max_episode_steps=abc"])  # a known name, a value the env refuses
    assert message.startswith(
        "env.kwargs: rlsuite/CartPole-v1 cannot be built with {'max_episode_steps': 'abc'}"
    )


def test_env_kwargs_of_a_constructor_that_passes_them_on_are_checked_by_building_it():
    maze = REPO / "experiments/ppo/maze.yaml"
    message = refused(["env.kwargs.no_such_option=1"], maze)
    assert message.startswith("env.kwargs: rlsuite/Maze-v0 cannot be built with")
    assert "'no_such_option'" in message and "accepted: size, kind, wall_density" in message
    assert refused(["env.kwargs.size={a: 1}"], maze).startswith("env.kwargs: rlsuite/Maze-v0 cannot be built")
    check_experiment(load_experiment(maze, ["env.kwargs.size=5", "env.num_envs=2"]))


def test_an_unknown_env_id_and_an_impossible_vectorization_name_their_key():
    assert refused(["env.id=rlsuite/CartPol-v1"]).startswith("env.id: unknown environment id")
    assert refused(["env.vectorization=native"], REPO / "experiments/sac/pendulum.yaml").startswith(
        "env.vectorization: Pendulum-v1 has no native batched core"
    )


# --- names, lengths and path escapes --------------------------------------------------------------
@pytest.mark.parametrize("name", ["../x", "/abs/olute", "..", ".", "a/b", "a\\b", "tab\tname"])
def test_an_experiment_name_must_be_one_folder(name):
    data = load_yaml(CARTPOLE) | {"experiment": name}
    with pytest.raises(ConfigError, match=r"^experiment: expected"):
        build_experiment(data)


def test_over_long_names_and_paths_name_the_key_and_the_limit():
    assert refused(["experiment=" + "e" * 129]).startswith(
        "experiment: expected at most 128 characters, got 129"
    )
    assert refused(["env.id=rlsuite/" + "A" * 300]).startswith("env.id: expected at most 128 characters")
    message = refused(["runs_root=" + "r" * 300])
    assert message.startswith("runs_root: path component 'rrrr") and "longer than 255 bytes" in message


def test_run_dir_may_not_climb_out_with_dot_dot_but_may_be_absolute(tmp_path):
    assert refused(["run_dir=runs/../../elsewhere"]).startswith("run_dir: expected a path without '..'")
    assert load_experiment(CARTPOLE, [f"run_dir={tmp_path / 'run'}"]).run_dir == str(tmp_path / "run")


def test_train_refuses_before_touching_the_filesystem(tmp_path):
    root = tmp_path / "runs"
    for bad in (["env.id=rlsuite/NoSuchEnv-v0"], ["env.kwargs={nope: 1}"]):
        config = load_experiment(CARTPOLE, [*SMALL, f"runs_root={root}", *bad])
        with pytest.raises(ConfigError):
            train(config, quiet=True)
        assert not root.exists()


def sweep_file(tmp_path: Path, **changes) -> Path:
    data = {
        "name": "s",
        "seeds": 1,
        "envs": ["rlsuite/CartPole-v1"],
        "algorithms": [{"name": "ppo", "label": "ppo"}],
    }
    for key, value in changes.items():
        if key == "label":
            data["algorithms"][0]["label"] = value
        elif key == "env":
            data["envs"] = [value]
        else:
            data[key] = value
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": ".."}, "algorithms[0].label: '..' cannot name a run folder: expected a folder name other"),
        ({"label": "."}, "algorithms[0].label: '.' cannot name a run folder"),
        ({"label": "x" * 300}, "cannot name a run folder: expected a folder name of at most 255 bytes"),
        ({"env": ".."}, "envs[0].id: '..' cannot name a run folder"),
        ({"name": ".."}, "name: '..' must be a folder name"),
        ({"seeds": [2**40]}, "seeds: expected a positive count"),
    ],
)
def test_sweep_labels_names_and_env_ids_cannot_leave_the_sweep_folder(tmp_path, change, message):
    with pytest.raises(SweepError) as info:
        load_sweep(sweep_file(tmp_path, **change), root=tmp_path / "out")
    assert message in str(info.value)


def test_a_label_with_separators_becomes_one_folder_inside_the_sweep(tmp_path):
    sweep = load_sweep(sweep_file(tmp_path, label="a/../../b"), root=tmp_path / "out")
    (run,) = sweep.runs
    assert run.directory.parent.parent.parent == sweep.directory and ".." not in run.directory.parts


# --- train --dry-run ----------------------------------------------------------------------------
def test_dry_run_builds_everything_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_experiment(CARTPOLE, SMALL)
    found = dry_run(config)
    assert found.resume_from is None and found.run_dir.parent == Path("runs") / "ppo-cartpole"
    assert list(tmp_path.iterdir()) == []


def test_cli_dry_run_prints_the_resolved_config_and_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(CARTPOLE), *SMALL, "algo.lr=5e-4", "--dry-run"]) == 0
    captured = capsys.readouterr()
    printed = build_experiment(yaml.safe_load(captured.out))
    assert printed == load_experiment(CARTPOLE, [*SMALL, "algo.lr=5e-4"]) and printed.algo.lr == 5e-4
    assert "dry run: config checked, env and algorithm built" in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("algo.lr=1e309", "algo.lr"),
        ("algo.hidden_sizes=[0, 0]", "algo.hidden_sizes[0]"),
        ("seed=18446744073709551616", "seed"),
        ("offline.dataset=x.hdf5", "offline.dataset"),
        ("env.kwargs={foo: 1}", "env.kwargs"),
        ("experiment=../x", "experiment"),
        ("experiment=" + "e" * 300, "experiment"),
        ("env.id=rlsuite/" + "A" * 300, "env.id"),
    ],
)
def test_cli_exits_2_with_one_message_naming_the_key(tmp_path, monkeypatch, capsys, override, key):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(CARTPOLE), override, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rlsuite train: error: {key}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_real_command_line_shows_no_traceback(tmp_path):
    recursive = write(tmp_path, "env: &e {id: rlsuite/CartPole-v1, kwargs: {x: *e}}\nalgo: ppo\n", "rec.yaml")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "rlsuite.cli", "train", str(recursive), "--dry-run"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "recursive alias" in done.stderr and "'env.kwargs.x'" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.yaml"]


def test_the_dry_run_output_is_a_complete_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(CARTPOLE), *SMALL, "--dry-run", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and yaml.safe_load(captured.out) == experiment_to_dict(
        load_experiment(CARTPOLE, SMALL)
    )
