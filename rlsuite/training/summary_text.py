"""The one line ``rlsuite train`` ends with: the eval return and the rate the env's family cares about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# How each family names its success / win figures (summary.json keeps the generic keys).
_RATE_LABELS = {
    ("football", "win_rate"): "goal rate",
    ("smac", "win_rate"): "win rate",
    ("reasoning", "success_rate"): "accuracy",
    ("text", "success_rate"): "solved",
}


def _family(env_id: str) -> str:
    try:
        from rlsuite.envs.registry import spec

        return spec(env_id).family
    except (KeyError, ValueError, ImportError):
        return ""


def rate_items(summary: Mapping[str, Any]) -> list[tuple[str, float]]:
    """``[(label, rate)]`` for the rates in a summary (win rate, goal rate, accuracy, success rate)."""
    family = _family(str(summary.get("env", "")))
    items = []
    for key in ("win_rate", "success_rate"):
        if key in summary:
            label = _RATE_LABELS.get((family, key), key.replace("_", " "))
            items.append((label, float(summary[key])))
    return items


def final_line(summary: Mapping[str, Any]) -> str:
    """``win rate 85% (20 episodes); eval return 19.3 ± 1.2; 200000 steps at 950 steps/s``."""
    episodes = summary.get("eval_episodes", 0)
    rates = [f"{label} {100 * rate:.0f}%" for label, rate in rate_items(summary)]
    parts = []
    if rates:
        parts.append(f"{', '.join(rates)} over {episodes} episodes")
    parts.append(
        f"eval return {summary['eval_return_mean']:.1f} ± {summary['eval_return_std']:.1f}"
        + ("" if rates else f" over {episodes} episodes")
    )
    if "normalized_score" in summary:
        parts.append(f"D4RL normalised score {float(summary['normalized_score']):.1f}")
    parts.append(f"{summary['total_steps']} steps at {summary['sps']:.0f} steps/s")
    return "; ".join(parts)
