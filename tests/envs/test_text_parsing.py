"""The reply parser: empty replies, garbage, prose around the tags, unknown actions, too many actions,
mixed case, think blocks present or absent under each think mode, separators and aliases."""

from __future__ import annotations

import pytest

from rlsuite.envs.text.parsing import ActionParser

NAMES = ("Up", "Down", "Left", "Right")


@pytest.fixture
def parser() -> ActionParser:
    return ActionParser(NAMES, {"north": 0}, max_actions=3)


@pytest.mark.parametrize("reply", ["", "   \n", None, 42])
def test_empty_or_non_text_replies_are_invalid(parser, reply):
    result = parser.parse(reply)
    assert not result.valid and not result.format_ok and result.actions == ()
    assert result.error == "empty reply"


@pytest.mark.parametrize(
    "reply", ["Up || Down", "asdf <answer Up", "<answer>Up", "Up</answer>", "<think>Up</think>", "!!!"]
)
def test_garbage_and_missing_answer_blocks(parser, reply):
    result = parser.parse(reply)
    assert not result.valid and result.actions == ()
    assert "missing <answer>" in result.error


def test_prose_around_the_tags_is_ignored(parser):
    result = parser.parse("Sure! Let me think.\n<answer> Up || Left </answer>\nHope this helps. Down")
    assert result.valid and result.actions == (0, 2) and result.names == ("Up", "Left")
    assert result.answer == "Up || Left"


def test_unknown_actions_are_dropped_and_make_the_reply_invalid(parser):
    result = parser.parse("<answer>Up || Jump || Right</answer>")
    assert result.actions == (0, 3) and result.invalid == ("Jump",)
    assert not result.valid and result.format_ok and "Jump" in result.error


def test_only_the_first_max_actions_items_are_kept(parser):
    result = parser.parse("<answer>Up || Down || Left || Right || Up</answer>")
    assert result.actions == (0, 1, 2) and result.dropped == 2 and result.valid
    # RAGEN's order: cut the item list first, then map names (an unknown 4th item is not seen)
    result = parser.parse("<answer>Up || Up || Up || bogus</answer>")
    assert result.valid and result.dropped == 1


def test_names_and_tags_match_case_insensitively(parser):
    result = parser.parse("<ANSWER>uP || dOWN ||   right</Answer>")
    assert result.valid and result.actions == (0, 1, 3)
    assert parser.parse("<answer>NORTH</answer>").actions == (0,)  # alias


def test_items_are_stripped_of_quotes_punctuation_and_empty_pieces(parser):
    result = parser.parse("<answer>'Up'. || || \"Left\", ||</answer>")
    assert result.valid and result.actions == (0, 2)
    empty = parser.parse("<answer>  </answer>")
    assert empty.format_ok and not empty.valid and empty.error == "no action in the answer"


def test_think_optional_accepts_both_forms():
    p = ActionParser(NAMES)
    with_think = p.parse("<think>box is right of me</think>\n<answer>Right</answer>")
    assert with_think.valid and with_think.think == "box is right of me" and with_think.actions == (3,)
    assert p.parse("<answer>Right</answer>").valid
    # an answer written inside the think block does not count
    hidden = p.parse("<think>maybe <answer>Up</answer></think> no answer here")
    assert not hidden.valid and "missing <answer>" in hidden.error


def test_think_required_and_forbidden():
    required = ActionParser(NAMES, think="required")
    assert required.parse("<think>x</think><answer>Up</answer>").valid
    result = required.parse("<answer>Up</answer>")
    assert not result.valid and "missing <think>" in result.error
    forbidden = ActionParser(NAMES, think="forbidden")
    assert forbidden.parse("<answer>Up</answer>").valid
    assert not forbidden.parse("<think>x</think><answer>Up</answer>").valid
    assert forbidden.format_hint() == "<answer> [your answer] </answer>"
    assert "<think>" in required.format_hint()


def test_custom_separator_and_bad_options():
    p = ActionParser(NAMES, separator=",")
    assert p.parse("<answer>Up, Down</answer>").actions == (0, 1)
    assert ActionParser(NAMES).parse("<answer>Up, Down</answer>").invalid == ("Up, Down",)
    with pytest.raises(ValueError, match="think"):
        ActionParser(NAMES, think="sometimes")
    with pytest.raises(ValueError, match="max_actions"):
        ActionParser(NAMES, max_actions=0)
