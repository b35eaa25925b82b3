"""Progress displays: the training line fits 80 columns; long work inside an iteration shows and logs."""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys

import pytest
from rich.console import Console

from rlsuite.core import progress as pg


def _console(width: int = 80) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=False, color_system=None), buffer


def test_training_line_fits_80_columns_with_every_field():
    console, buffer = _console()
    label = "mappo GRFSim-academy_run_pass_and_shoot_with_keeper-v0"
    bar = pg.TrainingProgress(2_000_000, 0, label=label, console=console)
    bar.update(1_250_000, 12345.6, -1234.56)
    bar.close()
    line = buffer.getvalue().strip().splitlines()[-1]
    assert len(line) <= 80
    for field in ("mappo GRFSim", "1.2M/2M", "12,346 sps", "ret -1234.6"):
        assert field in line, (field, line)
    assert line.rstrip().endswith(("-:--:--", "0:00:00")) or ":" in line.split()[-1]


def test_task_joins_the_training_display_and_is_silent_when_disabled():
    console, _ = _console(120)
    bar = pg.TrainingProgress(100, 0, label="llm_ppo Arithmetic-v0", console=console)
    try:
        with pg.task("SFT warm-up", 240) as handle:
            handle.advance(3, note="loss 1.250")
            rows = {t.description: t for t in bar._progress.tasks}
            assert rows["SFT warm-up"].completed == 3
            assert rows["SFT warm-up"].fields["count"] == "3/240"
            assert rows["SFT warm-up"].fields["ret"] == "loss 1.250"
        assert [t.description for t in bar._progress.tasks] == ["llm_ppo Arithmetic-v0"]
    finally:
        bar.close()
    with pg.progress_enabled(False), pg.task("collecting", 10) as handle:
        handle.advance(10)
        assert handle.completed == 10 and handle._progress is None


def test_llm_warm_up_reports_progress_and_logs_its_loss(monkeypatch):
    pytest.importorskip("transformers", reason="the text policy module imports transformers lazily")
    from rlsuite.agents.text import GPTConfig, SamplingConfig, TextModelConfig
    from rlsuite.algos import llm_ppo
    from rlsuite.config import EnvConfig, EvalConfig

    advances: list[tuple[str, int, str | None]] = []

    class RecordingHandle(pg.TaskHandle):
        def __init__(self, description):
            super().__init__(None, None)
            self.description = description

        def advance(self, amount=1, note=None):
            advances.append((self.description, amount, note))

    from contextlib import contextmanager

    @contextmanager
    def recording_task(description, total, **_):
        yield RecordingHandle(description)

    monkeypatch.setattr(llm_ppo, "task", recording_task)
    env = EnvConfig(
        id="rlsuite/Arithmetic-v0",
        num_envs=4,
        kwargs={"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 4},
    )
    config = llm_ppo.LLMPPOConfig(
        model=TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=32, context=48)),
        sampling=SamplingConfig(max_new_tokens=12),
        samples_per_prompt=2,
        sft_warmup_steps=3,
        warmup_steps=0,
    )
    algo = llm_ppo.LLMPPO(env, config, seed=0, device="cpu", eval_config=EvalConfig(episodes=4))
    logged: list[tuple[int, dict]] = []
    algo.side_logger = lambda step, scalars: logged.append((step, scalars))
    try:
        algo.collect()
    finally:
        algo.close()
    warm = [a for a in advances if a[0] == "SFT warm-up"]
    assert len(warm) == 3 and all(note.startswith("loss ") for _, _, note in warm)
    assert [step for step, _ in logged] == [1, 2, 3]
    assert all("warmup/sft_loss" in scalars for _, scalars in logged)


KERNEL_MODULE = """
from numba import njit


@njit(cache=True)
def twice(x):
    return 2 * x
"""


def test_compile_notice_only_when_numba_really_compiles(tmp_path, monkeypatch, capsys):
    from rlsuite.core import kernels

    monkeypatch.setitem(kernels._state, "announced", False)
    monkeypatch.setitem(kernels._state, "compiled", [])
    kernels.install_compile_notice()
    # an rlsuite-named module in a fresh folder: nothing cached yet
    package = tmp_path / "rlsuite_probe"
    package.mkdir()
    name = f"probe_{tmp_path.name.replace('-', '_')}"
    (package / f"{name}.py").write_text(KERNEL_MODULE)
    spec = importlib.util.spec_from_file_location(f"rlsuite.{name}", package / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert module.twice(3) == 6  # compiles: one notice
        assert "compiling numba kernels" in capsys.readouterr().err
        assert kernels.compiled_modules() == [spec.name]
        module.twice(4.5)  # another signature compiles too, but the notice is said once
        assert capsys.readouterr().err == ""
        # a new process state loading the same kernel from numba's cache compiles nothing
        monkeypatch.setitem(kernels._state, "compiled", [])
        del sys.modules[spec.name]
        again = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = again
        spec.loader.exec_module(again)
        assert again.twice(3) == 6
        assert kernels.compiled_modules() == []
    finally:
        sys.modules.pop(spec.name, None)


def test_every_rlsuite_kernel_is_cached():
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    import rlsuite.envs.builtin  # noqa: F401

    modules = [
        "rlsuite.envs.classic.cartpole_core",
        "rlsuite.envs.gridworlds.sokoban_kernels",
        "rlsuite.envs.gridworlds.maze",
        "rlsuite.envs.gridworlds.taxi",
        "rlsuite.envs.smac.core",
        "rlsuite.envs.smac.observe",
        "rlsuite.envs.football.core",
        "rlsuite.envs.football.physics",
        "rlsuite.core.buffers",
        "rlsuite.agents.cpu_inference",
    ]
    for name in modules:
        importlib.import_module(name)
    kernels = [
        (name, value)
        for name, module in list(sys.modules.items())
        if name.startswith("rlsuite.") and module is not None
        for value in vars(module).values()
        if isinstance(value, CPUDispatcher) and value.__module__ == name
    ]
    assert len(kernels) > 50
    uncached = [f"{name}.{k.__name__}" for name, k in kernels if isinstance(k._cache, NullCache)]
    assert uncached == []


def test_gpu_sized_warning_estimates_time_on_a_cpu():
    from types import SimpleNamespace

    import torch

    from rlsuite.algos.base import Capabilities
    from rlsuite.core.sizing import gpu_sized_warning, trained_parameters

    def learner(width: int, batch: int, device: str = "cpu"):
        return SimpleNamespace(
            critic=torch.nn.Linear(width, width),  # width^2 + width parameters
            critic_target=torch.nn.Linear(width, width),  # not trained: not counted
            config=SimpleNamespace(batch_size=batch, utd_ratio=1.0),
            capabilities=Capabilities(discrete_actions=False, continuous_actions=True, on_policy=False),
            device=device,
            global_step=0,
        )

    big = learner(1000, 256)
    assert trained_parameters(big) == 1000 * 1000 + 1000
    # 6 x 1.001e6 x 256 x 1e6 steps = 1.5e15 FLOPs; at 1e10 FLOP/s that is 1.5e5 s, about 2 days
    message = gpu_sized_warning(big, 1_000_000, flops_per_second=1e10)
    assert message is not None and "sized for a GPU" in message and "1.5e+15 FLOPs" in message
    assert "43 hours" in message
    assert gpu_sized_warning(learner(1000, 256, device="cuda"), 1_000_000, flops_per_second=1e10) is None
    assert gpu_sized_warning(learner(64, 64), 100_000, flops_per_second=1e10) is None
