"""The listing commands and small CLI conveniences: algos, envs, --version, help, closest ids, final line."""

from __future__ import annotations

import argparse

import pytest

import rlsuite
from rlsuite.cli import _parser, main
from rlsuite.cli_info import format_table
from rlsuite.envs.registry import closest_ids
from rlsuite.training.summary_text import final_line


def test_algos_table_has_header_kinds_and_descriptions(capsys):
    assert main(["algos"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "kind", "description"]
    assert not any("Capabilities(" in line for line in lines)
    ppo = next(line for line in lines if line.startswith("ppo "))
    assert "on-policy, discrete + continuous" in ppo and "Proximal Policy Optimization" in ppo
    qmix = next(line for line in lines if line.startswith("qmix "))
    assert "multi-agent, off-policy, discrete" in qmix
    # every row's kind column starts where the header's does
    column = lines[0].index("kind")
    rows = [line for line in lines[2:] if line and not line.startswith(" ") and not line.startswith("`")]
    assert all(line[column - 1] == " " and line[column] != " " for line in rows)


def test_algos_name_lists_every_section(capsys):
    assert main(["algos", "ppo"]) == 0
    out = capsys.readouterr().out
    for key in (
        "algo.lr",
        "env.id",
        "env.num_envs",
        "eval.every_steps",
        "checkpoint.keep",
        "log.every_steps",
    ):
        assert f"\n{key} " in out, key
    for top_level in ("seed ", "total_steps ", "imports "):
        assert f"\n{top_level}" in out
    assert main(["algos", "ppx"]) == 2
    assert "did you mean 'ppo'" in capsys.readouterr().err


def test_envs_header_alignment_and_family_typo(capsys):
    assert main(["envs", "--family", "football"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert lines[0].split()[:3] == ["id", "family", "agents"]
    column = lines[0].index("family")
    rows = [line for line in lines[2:] if line.startswith("rlsuite/")]
    assert rows and all(line[column:].startswith("football") for line in rows)
    assert main(["envs", "--family", "mujco"]) == 2
    assert "did you mean 'mujoco'" in capsys.readouterr().err


def test_version_and_plain_description(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlsuite {rlsuite.__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "train" in text


def _parsers(parser: argparse.ArgumentParser, path: str = "rlsuite"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_argument_has_help_and_defaults_are_shown(capsys):
    for path, parser in _parsers(_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{path}: {action.option_strings or action.dest} has no help text"
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "(default: 10)" in capsys.readouterr().out


def test_closest_ids_look_like_the_typo():
    known = rlsuite.list_envs()
    assert closest_ids("rlsuite/Sokobn-v0", known) == ["rlsuite/Sokoban-v0"]
    assert closest_ids("rlsuite/CartPol-v1", known) == ["rlsuite/CartPole-v1"]
    assert "rlsuite/SMAC-8m-v0" not in closest_ids("rlsuite/SMAC-3mm-v0", known)
    assert closest_ids("rlsuite/SMAC-3mm-v0", known)[0] == "rlsuite/SMAC-3m-v0"
    assert closest_ids("rlsuite/Zzyzx-v0", known) == []


def test_format_table_wraps_only_the_last_column():
    text = format_table(("a", "b"), [("x" * 12, "word " * 30)], width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[3].startswith(" " * 14)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ({"env": "rlsuite/SMAC-3m-v0", "win_rate": 0.85}, "win rate 85% over 20 episodes"),
        ({"env": "rlsuite/GRFSim-academy_corner-v0", "win_rate": 0.3}, "goal rate 30% over 20 episodes"),
        ({"env": "rlsuite/Arithmetic-v0", "success_rate": 0.5}, "accuracy 50% over 20 episodes"),
        ({"env": "rlsuite/CartPole-v1"}, "eval return 1.5 ± 0.5 over 20 episodes"),
    ],
)
def test_final_line_names_the_families_rate(summary, expected):
    base = {
        "eval_return_mean": 1.5,
        "eval_return_std": 0.5,
        "eval_episodes": 20,
        "total_steps": 100,
        "sps": 9,
    }
    line = final_line({**base, **summary})
    assert line.startswith(expected) and line.endswith("100 steps at 9 steps/s")
