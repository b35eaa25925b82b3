"""Scripted SMAC experts against each other: attack-nearest and the focus-fire scripts on every shipped map.

    nice -n 10 python benchmarks/bench_maskma_experts.py            # all SMAC + custom maps, 64 battles each

Every map (SMAC's 23 and the shipped custom maps) is played by each scripted policy
(``rlsuite.envs.smac.downstream.HeuristicTeamPolicy``: ``heuristic`` = attack-nearest, ``focus_fire``,
``focus_fire_spread``, ``focus_fire_decoy``) on
``--battles`` battles at once, battle ``i`` seeded ``--seed + i`` (the same battles for every policy),
greedy. Resumable: each finished (map, policy) is kept in ``OUT/results.json``; the report is
``OUT/report.md`` / ``OUT/report.json`` with win rates and 95% Wilson intervals per map.

The paper's ad hoc team play setting (MaskMA, arXiv 2310.11846: a marine joins one fifth into the episode
on 8m_vs_9m / 7m_vs_9m; ``rlsuite.envs.smac.downstream``) is played too, with and without the late joiner
(the last agent), and tabled at the end of the report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlsuite.core.atomic import atomic_write_text
from rlsuite.core.stats import wilson_interval
from rlsuite.envs.smac.custom_maps import shipped_custom_maps
from rlsuite.envs.smac.downstream import SCRIPTED_POLICIES, HeuristicTeamPolicy
from rlsuite.envs.smac.maps import SMAC_MAP_NAMES
from rlsuite.envs.smac.vector import SMACVectorEnv
from rlsuite.training.evaluation import evaluate_policy

OUT = Path(__file__).resolve().parent / "reports" / "maskma-experts"
SEED = 20_261_207
AD_HOC_MAPS = ("8m_vs_9m", "7m_vs_9m")
AD_HOC = {"join_fraction": 0.2}  # the last agent joins at one fifth of the episode limit


def all_maps() -> list[str]:
    """SMAC's maps, then the shipped custom maps (registry order)."""
    return list(SMAC_MAP_NAMES) + [spec.name for spec in shipped_custom_maps()]


def play(map_name: str, policy: str, battles: int, seed: int, downstream: dict | None = None) -> dict:
    """Win rate and mean episode length of ``policy`` over ``battles`` battles of ``map_name``."""
    env = SMACVectorEnv(map_name, battles, downstream=downstream)
    started = time.monotonic()
    try:
        result = evaluate_policy(HeuristicTeamPolicy(env, policy), env, battles, seed=seed)
    finally:
        env.close()
    return {
        "win_rate": float(np.mean(result.wins)),
        "wins": int(np.sum(result.wins)),
        "battles": battles,
        "mean_length": float(np.mean(result.lengths)),
        "wall_s": time.monotonic() - started,
    }


def ad_hoc_key(map_name: str) -> str:
    return f"{map_name}+late_joiner"


def ad_hoc_options(map_name: str) -> dict:
    n_agents = SMACVectorEnv(map_name, 1).n_agents
    return {**AD_HOC, "join_agents": [n_agents - 1]}


def ad_hoc_lines(results: dict, policies: tuple[str, ...]) -> list[str]:
    lines = [
        "## Ad hoc team play (a marine joins at one fifth of the episode)",
        "",
        "| map | policy | without | with the late joiner |",
        "|---|---|---|---|",
    ]
    for name in AD_HOC_MAPS:
        for p in policies:
            plain, joined = results.get(name, {}).get(p), results.get(ad_hoc_key(name), {}).get(p)
            if plain is None or joined is None:
                continue
            cells = []
            for r in (plain, joined):
                lo, hi = wilson_interval(r["wins"], r["battles"])
                cells.append(f"{100 * r['win_rate']:.0f} [{100 * lo:.0f}, {100 * hi:.0f}]")
            lines.append(f"| {name} | {p} | {cells[0]} | {cells[1]} |")
    return [*lines, ""]


def write_report(results: dict, out: Path, policies: tuple[str, ...], battles: int, seed: int) -> None:
    rows, table = [], []
    for name, per_policy in results.items():
        if name.endswith("+late_joiner") or not all(p in per_policy for p in policies):
            continue
        row = {"map": name, "smac": name in SMAC_MAP_NAMES}
        cells = []
        for p in policies:
            r = per_policy[p]
            lo, hi = wilson_interval(r["wins"], r["battles"])
            row[p] = {**r, "ci95": [lo, hi]}
            cells.append(f"{100 * r['win_rate']:.0f} [{100 * lo:.0f}, {100 * hi:.0f}]")
        gain = per_policy[policies[-1]]["win_rate"] - per_policy[policies[0]]["win_rate"]
        rows.append(row)
        kind = "SMAC" if row["smac"] else "custom"
        table.append(f"| {name} | {kind} | " + " | ".join(cells) + f" | {100 * gain:+.0f} |")
    means = {p: float(np.mean([r[p]["win_rate"] for r in rows])) for p in policies}
    gated = {p: sum(r[p]["win_rate"] >= 0.8 for r in rows) for p in policies}
    header = " | ".join(f"{p} win % [95% CI]" for p in policies)
    lines = [
        "# Scripted SMAC experts: attack-nearest and the focus-fire scripts",
        "",
        f"`nice -n 10 python benchmarks/bench_maskma_experts.py`: {len(rows)} maps, {battles} battles per map"
        f" and policy, battle i seeded {seed} + i (the same battles for every policy), greedy.",
        "",
        "| policy | mean win % over maps | maps >= 80% |",
        "|---|---|---|",
        *[f"| {p} | {100 * means[p]:.1f} | {gated[p]} |" for p in policies],
        "",
        f"| map | kind | {header} | gain (points, {policies[-1]} vs {policies[0]}) |",
        "|---|---|" + "---|" * len(policies) + "---|",
        *table,
        "",
        *ad_hoc_lines(results, policies),
    ]
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.md", "\n".join(lines))
    summary = {"battles": battles, "seed": seed, "policies": list(policies), "mean_win_rate": means}
    summary["ad_hoc"] = {k: v for k, v in results.items() if k.endswith("+late_joiner")}
    atomic_write_text(out / "report.json", json.dumps({**summary, "maps": rows}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--battles", type=int, default=64)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--maps", nargs="*", default=None, help="map names (default: every shipped map)")
    parser.add_argument("--policies", nargs="*", default=list(SCRIPTED_POLICIES), choices=SCRIPTED_POLICIES)
    args = parser.parse_args(argv)
    if args.battles < 1:
        parser.error(f"--battles must be >= 1, got {args.battles}")
    results_path = args.out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    maps = args.maps or all_maps()
    jobs = [(name, name, None) for name in maps]
    jobs += [(ad_hoc_key(name), name, ad_hoc_options(name)) for name in AD_HOC_MAPS if name in maps]
    for name, map_name, downstream in jobs:
        for policy in args.policies:
            if policy in results.get(name, {}):
                continue
            results.setdefault(name, {})[policy] = play(map_name, policy, args.battles, args.seed, downstream)
            r = results[name][policy]
            print(f"{name:22s} {policy:12s} win {r['win_rate']:.2f} ({r['wall_s']:.1f}s)", flush=True)
            args.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(results_path, json.dumps(results, indent=1) + "\n")
    write_report(
        {name: results[name] for name, _, _ in jobs if name in results},
        args.out,
        tuple(args.policies),
        args.battles,
        args.seed,
    )
    print(f"report: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
