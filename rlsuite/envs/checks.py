"""The conformance runner: every registered id through its ecosystem's own checkers, and a throughput probe.

    from rlsuite.envs.checks import run_conformance
    report = run_conformance()                          # the whole registry (or ids=[...], families=[...])
    print(report.summary())                             # passed / failed / skipped counts
    report.failures()                                   # [CheckResult] of the failed checks

or from the shell: ``rlsuite envs --check`` (every id) / ``rlsuite envs --check ID [ID ...]``.

Single-agent ids (:mod:`rlsuite.envs.conformance_single`): Gymnasium's ``check_env`` (render check in the
env's first render mode), ``check_environments_match`` against the Gymnasium original where one exists
(MuJoCo v5 tasks, CartPole-v1 and Taxi-v4 with ``random_stream="gymnasium"``), Stable-Baselines3's
``check_env`` with its render check, the vector API, the vector seeding convention (env ``i`` of
``make_vec(id, n).reset(seed=s)`` = the env reset with ``s + i``, for every vector form), a seeded determinism
check over ``steps`` steps, and the input checks (:mod:`rlsuite.envs.inputs`). Multi-agent ids
(:mod:`rlsuite.envs.conformance_multi`): PettingZoo's ``parallel_api_test``, ``parallel_seed_test``,
``render_test`` and the AEC conversion through ``api_test``, the team vector seeding convention, seeded
determinism of the PettingZoo env and of its team vector env, and the input checks. Ids whose optional engine
is not installed are reported as skipped with the reason. docs/conformance.md has the latest full run.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gymnasium as gym

from rlsuite.envs.conformance_multi import MULTI_AGENT_CHECKS
from rlsuite.envs.conformance_single import SINGLE_AGENT_CHECKS, CheckSkipped, vector_api
from rlsuite.envs.registry import list_envs, make_vec, spec
from rlsuite.wrappers.video import ensure_headless_gl

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
DEFAULT_STEPS = 300


@dataclass(frozen=True)
class CheckResult:
    """One check of one id."""

    env_id: str
    check: str
    status: str  # "passed", "failed" or "skipped"
    detail: str = ""  # the failure or the reason for skipping
    seconds: float = 0.0


@dataclass
class ConformanceReport:
    """The results of a conformance run."""

    results: list[CheckResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``{"passed": n, "failed": n, "skipped": n}`` over checks."""
        counts = Counter(r.status for r in self.results)
        return {status: counts.get(status, 0) for status in (PASSED, FAILED, SKIPPED)}

    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAILED]

    def ids(self, status: str) -> list[str]:
        """Ids whose every check has ``status`` (passed: all passed or not applicable)."""
        by_id: dict[str, set[str]] = {}
        for r in self.results:
            by_id.setdefault(r.env_id, set()).add(r.status)
        if status == PASSED:
            return [i for i, s in by_id.items() if FAILED not in s and s != {SKIPPED}]
        if status == SKIPPED:
            return [i for i, s in by_id.items() if s == {SKIPPED}]
        return [i for i, s in by_id.items() if FAILED in s]

    def summary(self) -> str:
        c = self.counts()
        ids = len({r.env_id for r in self.results})
        return (
            f"{ids} ids: {len(self.ids(PASSED))} passing every applicable check, {len(self.ids(FAILED))} "
            f"failing, {len(self.ids(SKIPPED))} skipped; checks: {c[PASSED]} passed, {c[FAILED]} failed, "
            f"{c[SKIPPED]} skipped"
        )

    def to_markdown(self) -> str:
        """A table: one row per id, one column per check (✓ passed, ✗ failed, – skipped)."""
        checks = list(dict.fromkeys(r.check for r in self.results))
        rows: dict[str, dict[str, str]] = {}
        for r in self.results:
            rows.setdefault(r.env_id, {})[r.check] = {PASSED: "✓", FAILED: "✗", SKIPPED: "–"}[r.status]
        lines = ["| id | " + " | ".join(checks) + " |", "|---|" + "---|" * len(checks)]
        lines += [f"| {i} | " + " | ".join(row.get(c, "") for c in checks) + " |" for i, row in rows.items()]
        return "\n".join(lines)


def checks_for(env_id: str) -> dict[str, Callable[[str, int], None]]:
    """The checks that apply to ``env_id``, by name."""
    return MULTI_AGENT_CHECKS if spec(env_id).multi_agent else SINGLE_AGENT_CHECKS


def run_conformance(
    ids: Sequence[str] | None = None,
    *,
    families: Sequence[str] | None = None,
    checks: Sequence[str] | None = None,
    steps: int = DEFAULT_STEPS,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ConformanceReport:
    """Run the conformance checks over ``ids`` (default: the whole registry, or the ``families``); ``checks``
    restricts them by name; ``on_result`` sees each result as it comes (e.g. to print it)."""
    if ids is None:
        ids = [i for i in list_envs() if families is None or spec(i).family in families]
    known = set(SINGLE_AGENT_CHECKS) | set(MULTI_AGENT_CHECKS)
    unknown = sorted(set(checks or ()) - known)
    if unknown:
        raise ValueError(f"unknown checks {unknown}; accepted: {', '.join(sorted(known))}")
    ensure_headless_gl(probe=False)  # MuJoCo picks its GL backend at import: a headless one if needed
    report = ConformanceReport()
    for env_id in ids:
        for result in _check_id(env_id, checks, steps):
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    return report


def _check_id(env_id: str, names: Sequence[str] | None, steps: int) -> list[CheckResult]:
    entry = spec(env_id)
    selected = {k: v for k, v in checks_for(env_id).items() if names is None or k in names}
    missing = entry.missing_requirements()
    if missing:
        reason = f"needs {', '.join(missing)} (optional engine not installed)"
        return [CheckResult(env_id, name, SKIPPED, reason) for name in selected]
    results = []
    for name, check in selected.items():
        start = time.perf_counter()
        try:
            check(env_id, steps)
            status, detail = PASSED, ""
        except CheckSkipped as skip:
            status, detail = SKIPPED, str(skip)
        except Exception as exc:
            status, detail = FAILED, "".join(traceback.format_exception_only(type(exc), exc)).strip()
        results.append(CheckResult(env_id, name, status, detail, time.perf_counter() - start))
    return results


def format_result(result: CheckResult) -> str:
    """One line: id, check, status (and the reason or failure), seconds."""
    detail = f": {result.detail}" if result.detail else ""
    return f"{result.env_id:48s} {result.check:20s} {result.status}{detail} ({result.seconds:.1f} s)"


# ----- the former entry points, kept -------------------------------------------------------------------
def check_env_id(env_id: str, steps: int = 100) -> None:
    """Raise if ``env_id`` fails any applicable conformance check."""
    failures = run_conformance([env_id], steps=steps).failures()
    if failures:
        raise AssertionError("; ".join(f"{r.check}: {r.detail}" for r in failures))


def check_vector_env(env_id: str, num_envs: int = 3, steps: int = 50) -> None:
    """``make_vec`` keeps the single env's spaces, batches correctly and reproduces under a seed."""
    vector_api(env_id, steps)


def check_all(ids: list[str] | None = None, *, verbose: bool = False, steps: int = 100) -> dict[str, str]:
    """Check every id (default: the whole registry); return ``{id: error}`` for the failures. Ids whose
    optional requirements are not installed are skipped."""
    failures: dict[str, str] = {}

    def show(result: CheckResult) -> None:
        if verbose:
            print(format_result(result), flush=True)

    for r in run_conformance(ids, steps=steps, on_result=show).failures():
        failures[r.env_id] = f"{failures[r.env_id]}; " if r.env_id in failures else ""
        failures[r.env_id] += f"{r.check}: {r.detail}"
    return failures


def measure_throughput(
    env_id: str, num_envs: int, *, seconds: float = 1.0, vectorization: str = "auto"
) -> float:
    """Environment steps per second of ``make_vec(env_id, num_envs)`` under random actions."""
    env: gym.vector.VectorEnv = make_vec(env_id, num_envs, vectorization=vectorization)
    try:
        env.action_space.seed(0)
        actions = [env.action_space.sample() for _ in range(64)]
        env.reset(seed=0)
        for action in actions[:8]:  # warm-up (JIT compilation, caches)
            env.step(action)
        steps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for action in actions:
                env.step(action)
            steps += len(actions)
        return steps * num_envs / elapsed
    finally:
        env.close()
