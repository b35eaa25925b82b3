"""The Stable-Baselines3-shaped Python API: env instances, learn with callbacks, predict, save / load."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite
from rlsuite.algos.base import Algorithm
from rlsuite.algos.mappo import MAPPO, MAPPOConfig
from rlsuite.algos.ppo import PPO, PPOConfig
from rlsuite.callbacks import (
    BaseCallback,
    CheckpointCallback,
    EvalCallback,
    StopTrainingOnNoModelImprovement,
    StopTrainingOnRewardThreshold,
    VideoCallback,
)
from rlsuite.training.evaluation import EvalResult

SMALL = PPOConfig(num_steps=32, minibatch_size=64, update_epochs=1)
SMAC = "rlsuite/SMAC-3m-v0"


def ppo(env="rlsuite/CartPole-v1", **kwargs) -> PPO:
    return PPO(env, SMALL, device="cpu", **kwargs)


# --- construction from env objects ------------------------------------------------------------------
def test_built_from_a_gymnasium_env_a_vector_env_and_a_parallel_env():
    single = ppo(gym.make("CartPole-v1"))
    assert single.env.num_envs == 1 and single.env_config.id == "CartPole-v1"
    single.learn(64)
    assert single.global_step == 64 and len(single.evaluate(2).returns) == 2  # eval env made from the id

    venv = rlsuite.make_vec("rlsuite/CartPole-v1", 4)
    batched = ppo(venv)
    assert batched.env is venv and batched.env_config.id.startswith("instance/")
    batched.learn(256)
    assert len(batched.evaluate(3).returns) == 3  # eval env: a copy of the object

    team = MAPPO(rlsuite.make(SMAC), MAPPOConfig(num_steps=8, update_epochs=1), device="cpu")
    team.learn(16)
    assert team.global_step == 16 and len(team.evaluate(1).wins) == 1


def test_next_step_autoreset_vector_envs_are_refused():
    venv = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="same-step autoreset"):
        ppo(venv)
    with pytest.raises(TypeError, match="expected an env id"):
        ppo(object())


def test_checkpoint_of_an_env_object_loads_with_that_env(tmp_path):
    algo = ppo(rlsuite.make_vec("rlsuite/CartPole-v1", 2))
    algo.learn(64)
    algo.save(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="env="):
        Algorithm.from_checkpoint(tmp_path / "model.pt", device="cpu")
    again = PPO.load(tmp_path / "model.pt", env=rlsuite.make_vec("rlsuite/CartPole-v1", 2), device="cpu")
    assert again.global_step == 64


# --- learn with callbacks ---------------------------------------------------------------------------
def test_eval_callback_saves_the_best_model_and_stops_at_a_threshold(tmp_path):
    algo = ppo()
    stop = StopTrainingOnRewardThreshold(reward_threshold=1.0)  # any policy reaches it
    evaluate = EvalCallback(
        eval_freq=128, n_eval_episodes=2, best_model_save_path=tmp_path, log_path=tmp_path,
        callback_on_new_best=stop, verbose=0,
    )  # fmt: skip
    algo.learn(10_000, callback=evaluate)
    assert algo.global_step == 256  # 8 envs x 32 steps per iteration: the first eval point stops it
    assert evaluate.evaluations_timesteps == [256] and evaluate.best_mean_reward >= 1.0
    best = PPO.load(tmp_path / "best_model.pt", device="cpu")
    assert best.global_step == 256
    log = json.loads((tmp_path / "evaluations.json").read_text())
    assert log["timesteps"] == [256] and len(log["results"][0]) == 2


class _FixedEval(EvalCallback):
    """An EvalCallback whose evaluations return the given mean returns in turn."""

    def __init__(self, means, **kwargs):
        super().__init__(eval_freq=256, verbose=0, **kwargs)
        self.means = list(means)

    def evaluate(self):
        return EvalResult([self.means.pop(0)], [1])


def test_no_improvement_stops_after_the_patience_runs_out():
    stopper = StopTrainingOnNoModelImprovement(max_no_improvement_evals=2)
    fixed = _FixedEval([5.0, 6.0, 6.0, 5.5, 9.0], callback_after_eval=stopper)
    algo = ppo()
    algo.learn(100_000, callback=fixed)
    # evals at 256 (best 5), 512 (best 6), 768 (no gain: 1), 1024 (no gain: 2 -> stop)
    assert fixed.evaluations_timesteps == [256, 512, 768, 1024] and algo.global_step == 1024


def test_callbacks_compose_with_checkpoints_videos_and_functions(tmp_path):
    events = []

    class Recorder(BaseCallback):
        def _on_training_start(self, total_steps):
            events.append(("start", total_steps))

        def _on_step(self):
            events.append(("step", self.num_timesteps, "rollout/ep_return_mean" in self.locals))
            return True

        def _on_training_end(self):
            events.append(("end", self.num_timesteps))

    checkpoints = CheckpointCallback(save_freq=256, save_path=tmp_path / "ckpt", name_prefix="ppo")
    videos = VideoCallback(video_freq=512, video_folder=tmp_path / "videos")
    stop_after_two = lambda algo, stats: algo.iteration < 2  # noqa: E731  (a plain function works too)
    algo = ppo()
    algo.learn(2048, callback=[Recorder(), checkpoints, videos, stop_after_two])
    assert algo.global_step == 512
    assert events[0] == ("start", 2048) and events[-1] == ("end", 512)
    assert [e[1] for e in events if e[0] == "step"] == [256, 512]
    assert [p.name for p in checkpoints.saved] == ["ppo_256_steps.pt", "ppo_512_steps.pt"]
    assert [p.stem for p in videos.recorded] == ["video-step512"] and videos.recorded[0].exists()


# --- predict ----------------------------------------------------------------------------------------
def test_predict_single_observation_and_batch_match_the_agent():
    algo = ppo()
    obs, _ = algo.env.reset(seed=1)
    action, state = algo.predict(obs[0])
    assert state is None and np.ndim(action) == 0
    batch, _ = algo.predict(obs)
    np.testing.assert_array_equal(batch, algo.agent.act(obs, deterministic=True))
    assert action == batch[0]


def test_predict_for_a_recurrent_team_policy_carries_its_state():
    algo = MAPPO(SMAC, MAPPOConfig(num_steps=10, update_epochs=1, recurrent=True), device="cpu")
    training_memory = [m.clone() for m in algo.agent.memory] if algo.agent.memory is not None else None
    env = rlsuite.make_vec(SMAC, 2)
    obs, info = env.reset(seed=0)
    actions, state = algo.predict(obs, info=info)
    assert actions.shape == (2, algo.n_agents)
    assert np.all(np.take_along_axis(info["action_mask"], actions[..., None], -1))  # only available actions
    assert state is not None and state[0].shape[0] == 2
    one, _ = algo.predict({"obs": obs[0], "state": info["state"][0], "action_mask": info["action_mask"][0]})
    assert one.shape == (algo.n_agents,)
    # passing the state back continues the recurrence; episode_start clears a row's state
    obs2, _, _, _, info2 = env.step(actions)
    _, continued = algo.predict(obs2, state=state, info=info2)
    _, restarted = algo.predict(obs2, state=state, episode_start=[True, False], info=info2)
    fresh = algo.predict(obs2, info=info2)[1]
    torch.testing.assert_close(restarted[0][0], fresh[0][0])
    torch.testing.assert_close(restarted[0][1], continued[0][1])
    assert not torch.equal(continued[0][0], fresh[0][0])
    after = algo.agent.memory  # the agent's own (training) memory is left as it was
    if training_memory is None:
        assert after is None
    else:
        torch.testing.assert_close(after[0], training_memory[0])
    with pytest.raises(ValueError, match="action_mask"):
        algo.predict(obs)
    env.close()


def test_predict_for_a_text_policy():
    from rlsuite.agents.text import GPTConfig, SamplingConfig, TextModelConfig
    from rlsuite.algos.llm_sft import LLMSFT, LLMSFTConfig
    from rlsuite.config import EnvConfig

    env = EnvConfig(
        id="rlsuite/Arithmetic-v0",
        num_envs=2,
        kwargs={"template": "compact", "min_digits": 1, "max_digits": 1, "test_size": 4},
    )
    model = TextModelConfig(gpt=GPTConfig(layers=1, heads=2, dim=32, context=48))
    algo = LLMSFT(env, LLMSFTConfig(model=model, sampling=SamplingConfig(max_new_tokens=6)), device="cpu")
    response, state = algo.predict("What is 2 + 3?\n")
    assert isinstance(response, str) and state is None
    responses, _ = algo.predict(["What is 2 + 3?\n", "What is 4 + 4?\n"])
    assert len(responses) == 2 and responses[0] == response  # greedy decoding is deterministic
