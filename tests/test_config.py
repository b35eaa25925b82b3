"""Tests for rlsuite.config: strict YAML -> dataclass mapping, overrides, errors, files."""

# `param()` returns a dataclasses.field, so RUF009 does not apply (ruff cannot see through the wrapper).

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from typing import ClassVar, Literal

import pytest
import yaml

from rlsuite.config import (
    ConfigError,
    EnvConfig,
    EvalConfig,
    ExperimentConfig,
    build_experiment,
    describe,
    experiment_to_dict,
    from_dict,
    load_experiment,
    load_yaml,
    merge,
    param,
    parse_overrides,
    save_yaml,
    to_dict,
)


@dataclass
class FakeAlgoConfig:
    name: str = param("fake", help="algorithm name")
    lr: float = param(3e-4, help="learning rate", min=0, min_exclusive=True)
    epochs: int = param(4, help="optimization epochs", min=1)
    clip: float = param(0.2, help="clip range", min=0, max=1, max_exclusive=True)
    hidden: tuple[int, ...] = param((64, 64), help="hidden layer sizes")
    activation: Literal["tanh", "relu"] = param("tanh", help="activation function")
    target_kl: float | None = param(None, help="early-stop KL")
    schedule: str = param("constant", help="lr schedule", choices=("constant", "linear"))
    tags: list[str] = param([], help="free-form tags")
    batch_size: int = param(64, help="batch size", min=1)
    minibatch_size: int = param(32, help="minibatch size", min=1)
    normalize: bool = param(True, help="normalize advantages")

    validated: ClassVar[list[FakeAlgoConfig]] = []

    def validate(self) -> None:
        FakeAlgoConfig.validated.append(self)
        if self.minibatch_size > self.batch_size:
            raise ConfigError(
                f"minibatch_size: expected <= batch_size ({self.batch_size}), got {self.minibatch_size}"
            )


@dataclass
class OtherAlgoConfig:
    name: str = param("other", help="algorithm name")


REGISTRY = {"fake": FakeAlgoConfig, "other": OtherAlgoConfig}

BASE_YAML = """\
experiment: smoke
seed: 3
total_steps: 5000
algo:
  name: fake
  lr: 1e-3
  hidden: [32, 16]
  target_kl: 0.02
env:
  id: rlsuite/CartPole-v1
  num_envs: 4
  kwargs: {max_episode_steps: 200}
eval:
  every_steps: 1000
"""


def build(data, overrides=()):
    return build_experiment(data, overrides, algo_registry=REGISTRY)


def minimal(**top):
    return {"algo": {"name": "fake"}, "env": {"id": "rlsuite/CartPole-v1"}, **top}


def error_of(data, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        build(data, overrides)
    return str(info.value)


# ----------------------------------------------------------------------------- happy paths


def test_yaml_round_trip(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(BASE_YAML)
    cfg = load_experiment(path, algo_registry=REGISTRY)
    assert isinstance(cfg.algo, FakeAlgoConfig)
    assert cfg.algo.lr == 1e-3 and isinstance(cfg.algo.lr, float)
    assert cfg.algo.hidden == (32, 16)
    assert cfg.env.kwargs == {"max_episode_steps": 200}
    assert cfg.eval == EvalConfig(every_steps=1000)
    assert cfg.seed == 3 and cfg.total_steps == 5000 and cfg.experiment == "smoke"

    data = experiment_to_dict(cfg)
    assert data["algo"]["hidden"] == [32, 16]
    assert data["algo"]["name"] == "fake"
    assert data["checkpoint"] == {"every_steps": 0, "keep": 3, "save_replay_buffer": True}
    assert list(data) == [
        "algo", "env", "experiment", "seed", "total_steps", "device", "torch_threads",
        "run_dir", "runs_root", "resume", "imports", "eval", "checkpoint", "log", "offline",
    ]  # fmt: skip

    saved = tmp_path / "resolved.yaml"
    save_yaml(data, saved)
    assert load_yaml(saved) == data
    again = load_experiment(saved, algo_registry=REGISTRY)
    assert again == cfg
    assert experiment_to_dict(again) == data


def test_overrides_of_nested_keys_lists_and_null():
    cfg = build(
        yaml.safe_load(BASE_YAML),
        ["algo.lr=3e-4", "env.num_envs=16", "algo.target_kl=null", "algo.hidden=[64,64,64]",
         "eval.every_steps=0", "algo.tags=[a, b]", "seed=7", "env.kwargs.render_mode=rgb_array"],
    )  # fmt: skip
    assert cfg.algo.lr == pytest.approx(3e-4)
    assert cfg.env.num_envs == 16
    assert cfg.algo.target_kl is None
    assert cfg.algo.hidden == (64, 64, 64)
    assert cfg.algo.tags == ["a", "b"]
    assert cfg.eval.every_steps == 0
    assert cfg.seed == 7
    assert cfg.env.kwargs == {"max_episode_steps": 200, "render_mode": "rgb_array"}


def test_parse_overrides_and_merge():
    assert parse_overrides(["algo.lr=1e-3", "eval.every_steps=null", "algo.hidden=[64,64]", "a.b.c=x=y"]) == {
        "algo": {"lr": "1e-3", "hidden": [64, 64]},
        "eval": {"every_steps": None},
        "a": {"b": {"c": "x=y"}},
    }
    base = {"a": {"b": 1, "c": 2}, "d": 5}
    merged = merge(base, {"a": {"b": 10}, "d": {"e": 1}})
    assert merged == {"a": {"b": 10, "c": 2}, "d": {"e": 1}}
    assert base == {"a": {"b": 1, "c": 2}, "d": 5}  # not mutated


def test_scalar_coercions():
    algo = from_dict(
        FakeAlgoConfig,
        {
            "lr": "1e-3",
            "epochs": "3",
            "batch_size": 128.0,
            "clip": 0,
            "normalize": "false",
            "target_kl": "5e-2",
        },
        prefix="algo",
    )
    assert algo.lr == 1e-3 and isinstance(algo.lr, float)
    assert algo.epochs == 3 and algo.batch_size == 128 and isinstance(algo.batch_size, int)
    assert algo.clip == 0.0 and isinstance(algo.clip, float)
    assert algo.normalize is False
    assert algo.target_kl == pytest.approx(0.05)
    assert from_dict(EvalConfig, {"deterministic": "1"}).deterministic is True
    assert from_dict(EvalConfig, {"deterministic": 0}).deterministic is False


def test_missing_nested_sections_use_defaults_and_algo_shorthand():
    cfg = build({"algo": "other", "env": {"id": "x/Y-v0"}, "eval": None})
    assert cfg.algo == OtherAlgoConfig()
    assert cfg.eval == EvalConfig()
    assert cfg.env == EnvConfig(id="x/Y-v0")


def test_validate_hook_called():
    FakeAlgoConfig.validated.clear()
    cfg = build(minimal())
    assert FakeAlgoConfig.validated == [cfg.algo]
    message = error_of(minimal(), ["algo.minibatch_size=128"])
    assert message == "algo.minibatch_size: expected <= batch_size (64), got 128"


def test_to_dict_is_yaml_safe():
    data = to_dict(FakeAlgoConfig(hidden=(1, 2)))
    assert data["hidden"] == [1, 2]
    assert yaml.safe_load(yaml.safe_dump(data)) == data


# ----------------------------------------------------------------------------- errors


def test_unknown_key_with_suggestion():
    message = error_of(minimal(), ["algo.lrr=0.1"])
    assert message.startswith("unknown key 'algo.lrr'; did you mean 'algo.lr'? accepted keys under 'algo': ")
    assert "name, lr, epochs, clip, hidden" in message


def test_unknown_key_without_suggestion_lists_accepted():
    message = error_of(minimal(), ["env.zzzzzz=1"])
    assert (
        message == "unknown key 'env.zzzzzz'; accepted keys under 'env': id, num_envs, vectorization, kwargs"
    )


def test_unknown_top_level_key():
    message = error_of(minimal(seeed=1))
    assert message.startswith(
        "unknown key 'seeed'; did you mean 'seed'? accepted keys at the top level: algo, env,"
    )


@pytest.mark.parametrize("algo", [{"name": "fakee"}, {"lr": 0.1}, None])
def test_unknown_or_missing_algo_name_lists_registered(algo):
    data = minimal()
    data["algo"] = algo
    message = error_of(data)
    assert message.endswith("registered algorithms: fake, other")
    if algo and "name" in algo:
        assert message.startswith("algo.name: unknown algorithm 'fakee'; did you mean 'fake'?")
    else:
        assert message.startswith("missing required key 'algo.name'")


def test_unknown_algo_name_with_callable_registry():
    def registry(name):
        return REGISTRY[name]

    registry.names = lambda: list(REGISTRY)
    with pytest.raises(ConfigError, match=r"unknown algorithm 'ppo'; registered algorithms: fake, other"):
        build_experiment(minimal(algo={"name": "ppo"}), algo_registry=registry)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("env.num_envs=abc", "env.num_envs: expected an int, got 'abc' (str)"),
        ("algo.epochs=3.5", "algo.epochs: expected an int, got 3.5 (float)"),
        ("algo.epochs=true", "algo.epochs: expected an int, got true (bool)"),
        (
            "eval.deterministic='yes'",
            "eval.deterministic: expected a bool (true/false), got 'yes' (str); accepted",
        ),
        (
            "eval.deterministic=on_",
            "eval.deterministic: expected a bool (true/false), got 'on_' (str); accepted",
        ),
        ("eval.deterministic=2", "eval.deterministic: expected a bool (true/false), got 2 (int)"),
        ("algo.lr=fast", "algo.lr: expected a float, got 'fast' (str)"),
        ("experiment=5", "experiment: expected a string, got 5 (int); quote it"),
        ("algo.hidden=[64, x]", "algo.hidden[1]: expected an int, got 'x' (str)"),
        ("algo.hidden=64", "algo.hidden: expected a list (tuple[int, ...]), got 64 (int)"),
        ("env.kwargs=[1]", "env.kwargs: expected a mapping (dict[str, Any]), got [1] (list)"),
        ("eval=3", "eval: expected a mapping of keys, got 3 (int)"),
        ("seed=null", "seed: expected an int, got null"),
    ],
)
def test_wrong_types(override, expected):
    assert error_of(minimal(), [override]).startswith(expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("algo.lr=-0.1", "algo.lr: expected a float > 0, got -0.1"),
        ("algo.lr=0", "algo.lr: expected a float > 0, got 0.0"),
        ("algo.clip=1", "algo.clip: expected a float >= 0 and < 1, got 1.0"),
        ("algo.clip=-0.5", "algo.clip: expected a float >= 0 and < 1, got -0.5"),
        ("algo.epochs=0", "algo.epochs: expected an int >= 1, got 0"),
        ("env.num_envs=0", "env.num_envs: expected an int >= 1 and <= 1048576, got 0"),
        ("seed=-1", "seed: expected an int >= 0 and <= 4294967295, got -1"),
        ("checkpoint.keep=0", "checkpoint.keep: expected an int >= 1, got 0"),
    ],
)
def test_out_of_range(override, expected):
    assert error_of(minimal(), [override]) == expected


def test_in_range_boundaries_accepted():
    cfg = build(minimal(), ["algo.clip=0", "algo.epochs=1", "seed=0", "algo.lr=1e-12"])
    assert (cfg.algo.clip, cfg.algo.epochs, cfg.seed, cfg.algo.lr) == (0.0, 1, 0, 1e-12)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "env.vectorization=fast",
            "env.vectorization: expected one of 'auto', 'native', 'sync', 'async', got 'fast'",
        ),
        ("algo.activation=gelu", "algo.activation: expected one of 'tanh', 'relu', got 'gelu'"),
        ("algo.schedule=cosine", "algo.schedule: expected one of 'constant', 'linear', got 'cosine'"),
        ("device=gpu", "device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'gpu'"),
        ("device=cuda:x", "device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'cuda:x'"),
    ],
)
def test_bad_choice(override, expected):
    assert error_of(minimal(), [override]) == expected


def test_valid_devices():
    for device in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert build(minimal(device=device)).device == device


@pytest.mark.parametrize("item", ["algo.lr", "=3", ".lr=3", "algo..lr=3", "algo. lr=3", ""])
def test_malformed_override(item):
    with pytest.raises(ConfigError) as info:
        parse_overrides([item])
    assert (
        str(info.value)
        == f"malformed override {item!r}: expected key=value with dotted keys, e.g. algo.lr=3e-4"
    )


def test_unparsable_override_value():
    with pytest.raises(ConfigError, match=r"override 'algo.hidden=\[64': cannot parse the value as YAML"):
        parse_overrides(["algo.hidden=[64"])


def test_missing_required_key():
    assert (
        error_of({"algo": {"name": "fake"}, "env": {"num_envs": 2}}) == "missing required key 'env.id' (str)"
    )
    assert error_of({"algo": {"name": "fake"}}) == "missing required key 'env.id' (str)"


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 1\nalgo: [unclosed\nenv: {}\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    message = str(info.value)
    assert message.startswith(f"YAML syntax error in '{path}' at line ")
    assert int(message.split(" at line ")[1].split(",")[0]) in (2, 3)


def test_non_mapping_yaml(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(
        ConfigError, match=r"expected a mapping of keys at the top level, got list \['a', 'b'\]"
    ):
        load_yaml(path)
    (tmp_path / "empty.yaml").write_text("")
    assert load_yaml(tmp_path / "empty.yaml") == {}


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_experiment(path, algo_registry=REGISTRY)
    assert str(info.value) == f"config file not found: '{path}'"


# ----------------------------------------------------------------------------- files and docs


def test_atomic_save(tmp_path):
    path = tmp_path / "sub" / "cfg.yaml"
    save_yaml({"a": 1}, path)
    save_yaml({"a": (1, 2), "b": {"c": None}}, path)
    assert os.listdir(path.parent) == ["cfg.yaml"]
    assert yaml.safe_load(path.read_text()) == {"a": [1, 2], "b": {"c": None}}


def test_atomic_save_failure_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "cfg.yaml"
    save_yaml({"a": 1}, path)
    with pytest.raises(Exception):  # noqa: B017 - yaml refuses arbitrary objects
        save_yaml({"a": object()}, path)
    assert os.listdir(tmp_path) == ["cfg.yaml"]
    assert load_yaml(path) == {"a": 1}


def test_describe_lists_nested_keys():
    rows = describe(ExperimentConfig)
    table = {row[0]: row for row in rows}
    assert "eval.episodes" in table and "checkpoint.keep" in table and "log.tensorboard" in table
    assert "eval" not in table
    assert table["env.id"] == (
        "env.id",
        "str (at most 128 characters)",
        "(required)",
        "registered environment id, e.g. 'rlsuite/CartPole-v1'",
    )
    assert table["env.num_envs"][1:3] == ("int (>= 1 and <= 1048576)", "8")
    assert table["env.vectorization"][1] == "str (one of 'auto', 'native', 'sync', 'async')"
    assert table["run_dir"][1:3] == ("str | None", "null")
    assert all(len(row) == 4 and all(isinstance(c, str) for c in row) for row in rows)
    algo_rows = {row[0]: row for row in describe(FakeAlgoConfig, prefix="algo")}
    assert algo_rows["algo.lr"][1:3] == ("float (> 0)", "0.0003")
    assert algo_rows["algo.hidden"][1:3] == ("tuple[int, ...]", "[64, 64]")
    assert algo_rows["algo.tags"][2] == "[]"


def test_param_mutable_default_not_shared():
    a, b = FakeAlgoConfig(), FakeAlgoConfig()
    a.tags.append("x")
    assert b.tags == []


def test_experiment_requires_algo_dataclass():
    with pytest.raises(ConfigError, match=r"algo: expected an algorithm config dataclass"):
        from_dict(ExperimentConfig, minimal())


def test_yaml_file_with_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(BASE_YAML))
    cfg = load_experiment(path, ["run_dir=runs/x", "resume=auto"], algo_registry=REGISTRY)
    assert cfg.run_dir == "runs/x" and cfg.resume == "auto"
