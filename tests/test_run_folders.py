"""Run folders under crashes: atomic metrics rewrites, torn rows, the final-checkpoint window, one
writer per folder, stale temp files, file permissions, and the warning for a stretched schedule."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import yaml
from runlock_helpers import lock_held_by_another_process

from rlsuite.cli import main
from rlsuite.core.atomic import is_stale_temporary
from rlsuite.core.logger import MetricsLogger
from rlsuite.core.runlock import LOCK_FILE, RunFolderLockedError, RunLock, lock_holder
from rlsuite.training.experiment import build_experiment
from rlsuite.training.run import Run

TINY = {
    "experiment": "tiny",
    "seed": 3,
    "total_steps": 512,
    "device": "cpu",
    "torch_threads": 1,  # the same numerics in this process and in the crash-injection children
    "env": {"id": "rlsuite/CartPole-v1", "num_envs": 4},
    "algo": {"name": "ppo", "num_steps": 32, "minibatch_size": 64, "update_epochs": 1},
    "eval": {"episodes": 3, "every_steps": 192},  # at 256 and 384; the final one at 512 is its own row
    "checkpoint": {"every_steps": 256},
    "log": {"tensorboard": False},
}


def write_config(folder: Path, data: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(data or TINY))
    return path


def train_cli(config: Path, *items: str) -> int:
    return main(["train", str(config), "--quiet", *items])


def run_child(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (the crash-injection tests kill it with SIGKILL)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=300
    )


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


# --- metrics.csv ---------------------------------------------------------------------------------
def logged_48_rows(folder: Path) -> str:
    logger = MetricsLogger(folder, tensorboard=False)
    for step in range(1, 49):
        logger.log(step * 10, {"loss": step / 7})
    logger.close()
    return (folder / "metrics.csv").read_text()


KILL_IN_REWRITE = """
    import csv, os, signal, sys
    from rlsuite.core.logger import MetricsLogger

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def arm():  # SIGKILL while the rows are being written out, or just before the rename
        if sys.argv[3] == "writerows":
            csv.DictWriter.writerows = die
        else:
            os.replace = die

    if sys.argv[2] == "resume":  # a resume rewrites the file without the rows after the checkpoint
        arm()
        MetricsLogger(sys.argv[1], tensorboard=False, resume_step=480)
    else:  # a new column rewrites the file with the new header
        logger = MetricsLogger(sys.argv[1], tensorboard=False, resume_step=480)
        arm()
        logger.log(490, {"loss": 1.0, "new_column": 2.0})
"""


@pytest.mark.parametrize("kill_point", ["writerows", "replace"])
@pytest.mark.parametrize("moment", ["resume", "new_column"])
def test_a_kill_inside_a_metrics_rewrite_leaves_every_row(tmp_path, moment, kill_point):
    before = logged_48_rows(tmp_path)
    child = run_child(KILL_IN_REWRITE, str(tmp_path), moment, kill_point)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert (tmp_path / "metrics.csv").read_text() == before  # all 48 rows, not a truncated file
    resumed = MetricsLogger(tmp_path, tensorboard=False, resume_step=480)
    assert [int(r["step"]) for r in resumed.rows] == [10 * i for i in range(1, 49)]
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "metrics.csv"]
    assert all(is_stale_temporary(name) for name in leftovers), leftovers  # Run.open removes these


@pytest.mark.parametrize("tail", [b"490,0.12", b"490,0.1234\r", b"490,0.5\r\n\0\0\0", b"49\0\0\0\0"])
def test_a_torn_last_row_is_dropped_on_resume(tmp_path, tail):
    before = logged_48_rows(tmp_path)
    with (tmp_path / "metrics.csv").open("ab") as handle:
        handle.write(tail)  # a write cut short by a power loss or a full disk
    complete = tail.endswith(b"\r\n\0\0\0")  # the row made it; only the padding is torn
    logger = MetricsLogger(tmp_path, tensorboard=False, resume_step=10_000)
    assert len(logger.rows) == 48 + complete
    logger.log(500, {"loss": 0.25})
    rows = rows_of(tmp_path / "metrics.csv")
    assert list(rows[0]) == ["step", "loss"] and all(None not in row.values() for row in rows)
    assert [r["step"] for r in rows][-2:] == ["490" if complete else "480", "500"]
    assert (tmp_path / "metrics.csv").read_text().startswith(before)


def test_a_damaged_middle_row_is_an_error_naming_the_line(tmp_path):
    logged_48_rows(tmp_path)
    lines = (tmp_path / "metrics.csv").read_text().splitlines(keepends=True)
    lines[5] = "60\r\n"
    (tmp_path / "metrics.csv").write_text("".join(lines))
    with pytest.raises(ValueError, match=r"metrics.csv: line 6 has 1 fields \(header has 2\)"):
        MetricsLogger(tmp_path, tensorboard=False, resume_step=100)


# --- the window between the final checkpoint and summary.json --------------------------------------
KILL_AT_FINAL_SAVE = """
    import os, signal, sys
    from rlsuite.cli import main
    from rlsuite.core.checkpoint import CheckpointManager

    original, saved = CheckpointManager.save, []

    def save(self, state, step):
        saved.append(step)
        if saved.count(int(sys.argv[2])) == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)  # before this checkpoint is written
        return original(self, state, step)

    CheckpointManager.save = save
    main(["train", sys.argv[1], "--quiet", *sys.argv[4:]])
"""


@pytest.mark.parametrize(
    "window",
    [
        "after_the_final_checkpoint",  # killed before summary.json (the final eval row is logged)
        "before_the_final_checkpoint",  # killed with the final eval row logged, the checkpoint not yet
        "periodic_eval_at_the_end",  # the last periodic evaluation falls on the final step
    ],
)
def test_a_kill_at_the_end_neither_duplicates_nor_changes_the_final_evaluation(tmp_path, window):
    data = {**TINY, "eval": {"episodes": 3, "every_steps": 256}} if window.startswith("periodic") else TINY
    config = write_config(tmp_path, data)
    straight = tmp_path / "straight"
    assert train_cli(config, f"run_dir={straight}") == 0
    run_dir = tmp_path / "killed"
    if window == "before_the_final_checkpoint":
        child = run_child(KILL_AT_FINAL_SAVE, str(config), "512", "2", f"run_dir={run_dir}")
        assert child.returncode == -signal.SIGKILL, child.stderr
    else:
        assert train_cli(config, f"run_dir={run_dir}") == 0
        (run_dir / "summary.json").unlink()  # what a kill just before summary.json leaves
    assert not (run_dir / "summary.json").exists()
    assert train_cli(config, f"run_dir={run_dir}", "resume=auto") == 0
    assert (run_dir / "metrics.csv").read_text() == (straight / "metrics.csv").read_text()
    resumed, reference = (json.loads((d / "summary.json").read_text()) for d in (run_dir, straight))
    assert resumed["eval_returns"] == reference["eval_returns"]
    assert [int(r["step"]) for r in rows_of(run_dir / "metrics.csv")].count(512) == 1 + (
        window != "periodic_eval_at_the_end"
    )


# --- one writer per run folder ------------------------------------------------------------------
def test_a_second_writer_is_refused_with_the_holder_named(tmp_path, capsys):
    run_dir = tmp_path / "run"
    with lock_held_by_another_process(run_dir) as holder:
        assert lock_holder(run_dir).pid == holder.pid
        assert train_cli(write_config(tmp_path), f"run_dir={run_dir}") == 2
        error = capsys.readouterr().err
        assert f"is being written by process {holder.pid} on " in error and "one writer at a time" in error
        assert not (run_dir / "metrics.csv").exists() and not (run_dir / "config.yaml").exists()
    assert lock_holder(run_dir) is None  # the kernel dropped the lock with its holder
    assert train_cli(write_config(tmp_path), f"run_dir={run_dir}") == 0


def test_train_holds_the_lock_while_it_writes(tmp_path):
    seen = []

    def callback(algo, stats):
        seen.append(lock_holder(run.directory))

    config = build_experiment(TINY, [f"run_dir={tmp_path / 'run'}", "total_steps=256"])
    run = Run.open(tmp_path / "run", config, quiet=True)
    try:
        with pytest.raises(RunFolderLockedError, match="being written by process"):
            RunLock.acquire(tmp_path / "run")
        from rlsuite.training.experiment import build_algorithm

        algo = build_algorithm(config)
        algo.learn(256, run=run, callback=callback)
        algo.close()
    finally:
        run.close()
    assert seen and all(h is not None and h.pid == os.getpid() for h in seen)
    assert lock_holder(tmp_path / "run") is None and (tmp_path / "run" / LOCK_FILE).exists()


# --- temp files and permissions -------------------------------------------------------------------
def test_stale_temp_files_are_removed_when_the_run_folder_opens(tmp_path):
    config = write_config(tmp_path)
    run_dir = tmp_path / "run"
    assert train_cli(config, f"run_dir={run_dir}", "total_steps=512") == 0
    stale = [
        run_dir / "checkpoints" / ".step_768.pt.k2j3h4.tmp",  # a checkpoint write killed midway
        run_dir / "checkpoints" / ".latest.pt.link",
        run_dir / ".metrics.csv.a8b7c6.tmp",
        run_dir / ".summary.json.zz99.tmp",
    ]
    for path in stale:
        path.write_bytes(b"\0" * 4096)
    kept = run_dir / "checkpoints" / "notes.tmp"  # not one of ours
    kept.write_text("mine")
    (run_dir / "summary.json").unlink()  # killed before its summary: the resume opens the folder
    assert train_cli(config, f"run_dir={run_dir}", "total_steps=512", "resume=auto") == 0
    assert not any(path.exists() for path in stale) and kept.exists()


def test_files_in_a_run_folder_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    run_dir = tmp_path / "run"
    assert train_cli(write_config(tmp_path), f"run_dir={run_dir}", "total_steps=512") == 0
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "latest.pt",
        "step_512.pt",
        "summary.json",
        "config.yaml",
        "metrics.csv",
    }
    modes = {str(p.relative_to(run_dir)): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~mask)}, modes


# --- extending a run whose schedule runs over total_steps -------------------------------------------
def test_extending_a_run_warns_when_a_schedule_runs_over_total_steps(tmp_path):
    config = write_config(tmp_path)
    annealed, constant = tmp_path / "annealed", tmp_path / "constant"
    assert train_cli(config, f"run_dir={annealed}", "total_steps=256") == 0
    assert train_cli(config, f"run_dir={constant}", "total_steps=256", "algo.anneal_lr=false") == 0
    with pytest.warns(UserWarning, match=r"total_steps=512 \(the checkpoint planned 256\): algo.anneal_lr"):
        assert main(["train", "--quiet", f"resume={annealed}", "total_steps=512"]) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "--quiet", f"resume={constant}", "total_steps=512"]) == 0
    assert not [w for w in caught if "total_steps" in str(w.message)]
