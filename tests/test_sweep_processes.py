"""Sweep processes: runs die with a killed sweep driver, a re-run never adds a second writer to a run
folder, and a local Ray cluster listens on loopback only and leaves nothing behind."""

import ipaddress
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from runlock_helpers import lock_held_by_another_process

from rlsuite.core.checkpoint import latest_checkpoint
from rlsuite.core.runlock import lock_holder
from rlsuite.sweeps.execute import LOG_FILE, run_status
from rlsuite.sweeps.runner import run_sweep

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PPO = {"env.num_envs": 4, "algo.num_steps": 64}
LONG = {  # one run long enough to be killed in the middle (60,000 steps)
    "name": "long",
    "seeds": [0],
    "total_steps": 60_000,
    "base": {"device": "cpu", "eval": {"episodes": 3}, "log": {"tensorboard": False}},
    "envs": ["rlsuite/CartPole-v1"],
    "algorithms": [{"name": "ppo", "overrides": {**PPO, "checkpoint.every_steps": 256}}],
}


def write_sweep(folder: Path, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}-{data['total_steps']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.1)


def start_driver(sweep_file: Path, root: Path, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "rlsuite.cli", "sweep", str(sweep_file), "--root", str(root)]
    return subprocess.Popen([*command, "--workers", "1", "--no-report", "--quiet", *options])


def kill_driver_mid_run(tmp_path: Path, *options: str, before_kill=None) -> tuple[Path, int, set[int]]:
    """Start ``rlsuite sweep`` on LONG, wait for a checkpoint, SIGKILL it; the run's pid and the tree.

    ``before_kill(tree)`` looks at the driver's process tree while it still runs.
    """
    run_dir = tmp_path / "out" / "long" / "ppo" / "rlsuite_CartPole-v1" / "seed0"
    driver = start_driver(write_sweep(tmp_path, LONG), tmp_path / "out", *options)
    try:
        wait_for(
            lambda: latest_checkpoint(run_dir) and lock_holder(run_dir), 300, "the run's first checkpoint"
        )
        tree = descendants(driver.pid)
        run_pid = lock_holder(run_dir).pid
        assert run_pid in tree
        if before_kill is not None:
            before_kill(tree)
    finally:
        driver.send_signal(signal.SIGKILL)  # what the OOM killer or a preemption does
        driver.wait()
    return run_dir, run_pid, tree


def test_a_killed_sweep_takes_its_runs_down_and_a_rerun_resumes_them(tmp_path):
    run_dir, run_pid, _ = kill_driver_mid_run(tmp_path)
    wait_for(lambda: not alive(run_pid), 10, f"run process {run_pid} to die with its sweep")
    # A killed multi-threaded process shows as a zombie while its other threads still tear down (and hold
    # the lock's file descriptor) for a moment: the lock is free once the kernel has finished with it.
    wait_for(lambda: lock_holder(run_dir) is None, 10, "the dead run's lock to be released")
    assert run_status(run_dir) == "partial"
    # the documented re-run (shortened to the checkpoint's step so it ends at once): one writer, resumed
    result = run_sweep(write_sweep(tmp_path, {**LONG, "total_steps": 256}), root=tmp_path / "out", quiet=True)
    assert [(o.id, o.status) for o in result.outcomes] == [("ppo/rlsuite_CartPole-v1/seed0", "done")]
    log = (run_dir / LOG_FILE).read_text()
    assert log.count("$ ") == 2 and "resuming" in log and "being written by" not in log


def test_a_rerun_leaves_a_folder_that_another_process_writes_alone(tmp_path, capsys):
    data = {**LONG, "total_steps": 256}
    busy_dir = tmp_path / "out" / "long" / "ppo" / "rlsuite_CartPole-v1" / "seed0"
    busy_dir.mkdir(parents=True)
    (busy_dir / "metrics.csv").write_bytes(b"step,x\r\n64,1.0\r\n")  # a run that has no checkpoint yet
    with lock_held_by_another_process(busy_dir) as holder:
        result = run_sweep(write_sweep(tmp_path, data), root=tmp_path / "out")
        assert result.busy == {
            "ppo/rlsuite_CartPole-v1/seed0": f"process {holder.pid} on {os.uname().nodename}"
        }
        assert result.outcomes == [] and result.skipped == []
        assert (busy_dir / "metrics.csv").read_bytes() == b"step,x\r\n64,1.0\r\n"  # not cleared
        assert not (busy_dir / LOG_FILE).exists() and alive(holder.pid)  # no second writer started
        assert "seed0: not started, its folder is being written by process" in capsys.readouterr().err


# --- Ray -------------------------------------------------------------------------------------------
def listening_addresses(pids: set[int]) -> dict[int, list[str]]:
    """``{pid: [address:port, ...]}`` of the TCP sockets ``pids`` listen on (from /proc/net/tcp*)."""
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # per 32-bit word
                listening[int(fields[9])] = (ipaddress.ip_address(raw), int(port, 16))
    found: dict[int, list[str]] = {}
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and int(link[8:-1]) in listening:
                ip, port = listening[int(link[8:-1])]
                found.setdefault(pid, []).append(f"{ip}:{port}")
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@pytest.mark.slow
def test_a_local_ray_cluster_listens_on_loopback_only_and_dies_with_the_sweep(tmp_path):
    pytest.importorskip("ray")
    seen = {}

    def check_sockets(tree: set[int]) -> None:
        seen.update(listening_addresses(tree))
        assert len(seen) >= 3, seen  # GCS, raylet, workers, agents: all of them found
        exposed = {pid: a for pid, addresses in seen.items() for a in addresses if not is_loopback(a)}
        assert not exposed, f"listening beyond loopback: {exposed}"

    run_dir, run_pid, tree = kill_driver_mid_run(tmp_path, "--backend", "ray", before_kill=check_sockets)
    try:
        wait_for(lambda: not any(alive(pid) for pid in tree), 30, "the Ray processes to die with the sweep")
    finally:
        for pid in tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not alive(run_pid) and lock_holder(run_dir) is None
