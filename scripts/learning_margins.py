"""Run every fixed-seed learning test under several numerics settings and tabulate its margins.

Floating-point results differ across CPUs, BLAS kernels and thread counts, so a learning test whose seed
only just clears its threshold passes on one machine and fails on the next. Each learning test reports its
figures through the ``margin`` fixture (tests/conftest.py); this script runs those tests once per
setting with ``RLSUITE_MARGIN_LOG`` set and prints one Markdown table: figure, threshold, value under each
setting, and the smallest margin relative to the threshold's scale.

    python scripts/learning_margins.py                 # default tests, both settings
    python scripts/learning_margins.py --slow          # also the slow learning tests
    python scripts/learning_margins.py --settings generic   # one setting

Settings:
  ``default``  torch on 1 thread (the suite's default), the CPU's best kernels.
  ``generic``  torch on 2 threads (a different reduction order in every parallel kernel), ATen's generic
               (non-AVX) kernels (``ATEN_CPU_CAPABILITY=default``), MKL's conditional-reproducibility
               ``COMPATIBLE`` code path, OpenBLAS forced to its Sandybridge kernels (numpy), numba on 1
               thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LEARNING_TESTS = [
    "tests/test_ppo_learning.py::test_main_job_solves_cartpole",
    "tests/test_algorithm_interface.py::test_ppo_learns_identity_tasks",
    "tests/envs/test_gridworlds_ppo.py::test_ppo_learns_7x7_mazes",
    "tests/test_off_policy_learning.py::test_learns_pendulum",
    "tests/test_dynamics.py::test_fit_learns_a_known_system",
    "tests/test_offline.py::test_td3bc_beats_the_behaviour_policy",
    "tests/test_qmix.py::test_qmix_learns_3m",
    "tests/test_mappo.py::test_learns_3m_quickly",
    "tests/test_llm_algos.py::test_sft_learns_the_answer_format_and_its_gold_answers_score_one",
    "tests/test_llm_algos.py::test_ppo_raises_the_reward_with_a_fixed_seed",
    "tests/test_football.py::test_scripted_policy_scores_in_3v1",
    "tests/test_peers_sb3.py::test_sb3_ppo_learns_cartpole_through_the_loop",
    "tests/test_peers_tianshou.py::test_ppo_learns_cartpole_through_the_loop",
    "tests/test_peers_tianshou.py::test_sac_learns_a_continuous_target",
]
SLOW_LEARNING_TESTS = [
    "tests/test_ace.py::test_ace_wins_3m_with_a_fixed_seed",
    "tests/test_mappo.py::test_3m_experiment_config_wins",
    "tests/test_so2.py::test_so2_fine_tuning_improves_on_a_small_task",
    "tests/test_offline.py::test_sac_n_and_edac_beat_the_behaviour_policy",
    "tests/test_peers_tianshou.py::test_sac_learns_pendulum",
]
SETTINGS = {
    "default": {"RLSUITE_TEST_TORCH_THREADS": "1"},
    "generic": {
        "RLSUITE_TEST_TORCH_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_CBWR": "COMPATIBLE",
        "OPENBLAS_CORETYPE": "Sandybridge",
        "NUMBA_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",  # no spinning threads on a busy machine (numerics unchanged)
    },
}


def run_setting(name: str, tests: list[str], log: Path) -> int:
    env = {**os.environ, **SETTINGS[name], "RLSUITE_MARGIN_LOG": str(log)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "", *tests]
    print(f"[{name}] {' '.join(command[3:])}", flush=True)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def table(records: list[dict], settings: list[str]) -> str:
    figures: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (record["test"], record["figure"])
        entry = figures.setdefault(key, {"threshold": record["threshold"], "above": record["above"]})
        entry[record["setting"]] = record["value"]
    sign = {True: ">=", False: "<="}
    head = "| test | figure | needs | " + " | ".join(settings) + " | worst margin |"
    lines = [head, "|" + "---|" * (len(settings) + 4)]
    for (test, figure), entry in figures.items():
        values = [entry.get(s) for s in settings]
        present = [v for v in values if v is not None]
        rooms = [(v - entry["threshold"]) if entry["above"] else (entry["threshold"] - v) for v in present]
        worst = min(rooms) if rooms else float("nan")
        cells = " | ".join("—" if v is None else f"{v:.4g}" for v in values)
        short = test.split("::")[-1]
        needs = f"{sign[entry['above']]} {entry['threshold']:.4g}"
        lines.append(f"| {short} | {figure} | {needs} | {cells} | {worst:+.4g} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--slow", action="store_true", help="also run the slow learning tests")
    parser.add_argument("--tests", nargs="+", help="run only these test node ids")
    parser.add_argument("--out", type=Path, help="write the records (JSON lines) here")
    args = parser.parse_args()
    tests = args.tests or LEARNING_TESTS + (SLOW_LEARNING_TESTS if args.slow else [])
    records: list[dict] = []
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for setting in args.settings:
            log = Path(tmp) / f"{setting}.jsonl"
            failures += run_setting(setting, tests, log) != 0
            if log.exists():
                for line in log.read_text().splitlines():
                    records.append({**json.loads(line), "setting": setting})
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in records))
    print(table(records, args.settings))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
