"""SMACv2-style scenarios (https://github.com/oxwhirl/smacv2): per-episode random armies and start positions.

    from rlsuite.envs.smac.smacv2 import make_v2_env
    env = make_v2_env("10gen_protoss_5_vs_5", seed=0)      # any of SCENARIOS
    env = make_v2_env("10gen_terran", capability_config={...})   # SMACv2's capability_config layout

Each episode draws, from the battle's own random stream (so a seed fixes the whole sequence of armies):

* **teams** (SMACv2 ``weighted_teams``): ``n_units`` i.i.d. unit types with the race's weights (default
  0.45/0.45/0.1), the whole team redrawn while it consists only of exception types (medivac, baneling);
  the enemy team is a copy of the ally team (in creation order) plus ``n_enemies - n_units`` extra units
  drawn the same way, or the copy truncated to ``n_enemies``;
* **start positions** (``surrounded_and_reflect``; surrounded with probability ``p_surrounded``, which
  is ``1 - p`` of SMACv2's dict): *reflect* — allies uniform in x∈[0, 15), y∈[0, 32), enemy copies at
  (32 − x, y), extras uniform in x∈[16, 32); *surrounded* — allies at the centre (16, 16), enemies split
  into 1–4 groups (a uniform multinomial), each group on its own diagonal at a uniform fraction between a
  corner and the centre ± 2. Points are clipped to [0.5, 31.5];
* **spreading**: as SC2 does when several units are created at one point, each unit (allies first, in
  creation order) takes the nearest free spot to its point on a fine hexagonal lattice (free: no overlap
  with an already placed unit of the same layer, ground or air). Enemy copies in *reflect* mode are the
  exact mirror images of the spread allies;
* **agent order**: allies sorted by (SMACv2's ``*_RL`` unit-type id, x, y) — the ids are alphabetical:
  baneling < colossus < hydralisk < marauder < marine < medivac < stalker < zealot < zergling — enemies
  in creation order (copies first, then extras).

The map is SMACv2's ``32x32_flat`` (open terrain), episode limit 200, ``unit_type_bits`` 3 with the
one-hot order of SMACv2's ``get_unit_type_id`` (terran marine/marauder/medivac, protoss
stalker/zealot/colossus, zerg zergling/hydralisk/baneling). SMACv2 gives the enemy no scripted order:
the built-in computer player attacks. The simulator models this with ``ORDER_HUNT`` (each enemy attacks
the nearest ally wherever it is): an attack-move to the allies' spawn centroid would need a per-battle
order point, which ``Battles`` does not take (one set of order points per map).
"""

from __future__ import annotations

import re
from typing import Any

from rlsuite.envs.smac.env import StarCraft2Env
from rlsuite.envs.smac.smacv2_armies import V2Scenario, fill_kernel  # noqa: F401  (re-exported)
from rlsuite.envs.smac.smacv2_config import (  # noqa: F401  (re-exported: the scenarios as data)
    DEFAULT_EXCEPTIONS,
    DEFAULT_WEIGHTS,
    EPISODE_LIMIT,
    RACE_UNITS,
    SCENARIOS,
    SIZES,
    START_MODES,
    UNIT_TYPE_BITS,
    CapabilityConfig,
    from_smacv2_dict,
    get_config,
    v2_map_spec,
)

# ----- the single env -----------------------------------------------------------------------------
# SMACv2-only keyword arguments: accepted at the value that matches the simulator (SMAC v1 features).
_V2_NEUTRAL: dict[str, Any] = {
    "conic_fov": False,
    "obs_own_pos": False,
    "use_unit_ranges": False,
    "fully_observable": False,
    "prob_obs_enemy": 1.0,
    "action_mask": True,
    "obs_starcraft": True,
}
_V2_IGNORED = ("min_attack_range", "num_fov_actions", "kill_unit_step_mul")


def _strip_v2_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    for name, neutral in _V2_NEUTRAL.items():
        if name in out:
            value = out.pop(name)
            if value != neutral:
                raise ValueError(
                    f"SMACv2 option {name}={value!r} is not modelled by the simulator; "
                    f"only {name}={neutral!r} is accepted"
                )
    for name in _V2_IGNORED:
        out.pop(name, None)
    return out


class SMACv2Env(StarCraft2Env):
    """SMAC's ``StarCraft2Env`` on a SMACv2 scenario: a fresh army and layout at every ``reset``."""

    def __init__(self, config: CapabilityConfig, spread: bool = True, **kwargs: Any) -> None:
        spec = v2_map_spec(config)
        self.capability_config = config
        self.scenario = V2Scenario(config, spread=spread)
        super().__init__(map_name=spec, scenario=self.scenario, **_strip_v2_kwargs(kwargs))


_BASE_MAP = re.compile(r"^10gen_(terran|protoss|zerg)$")


def resolve_config(
    name_or_config: str | CapabilityConfig | dict, capability_config: CapabilityConfig | dict | None = None
) -> CapabilityConfig:
    """A scenario name, a :class:`CapabilityConfig`, SMACv2's dict, or ``"10gen_<race>"`` with
    ``capability_config`` → the :class:`CapabilityConfig`."""
    cap = capability_config
    if isinstance(name_or_config, CapabilityConfig):
        config = name_or_config
    elif isinstance(name_or_config, dict):
        config = from_smacv2_dict(name_or_config)
    elif isinstance(name_or_config, str) and _BASE_MAP.match(name_or_config):
        if cap is None:
            raise ValueError(
                f"{name_or_config!r} needs capability_config={{...}} (team sizes, unit mix, "
                f"start positions), or use one of: {', '.join(SCENARIOS)}"
            )
        race = _BASE_MAP.match(name_or_config).group(1)
        config = cap if isinstance(cap, CapabilityConfig) else from_smacv2_dict(cap, race=race)
        if config.race != race:
            raise ValueError(f"capability_config is for {config.race}, map {name_or_config!r} is {race}")
        cap = None
    elif isinstance(name_or_config, str):
        config = get_config(name_or_config)
    else:
        raise TypeError(
            "expected a scenario name, a CapabilityConfig or a capability_config dict, "
            f"got {type(name_or_config).__name__}"
        )
    if cap is not None:
        raise ValueError("capability_config= is only taken with a base map name ('10gen_<race>')")
    return config


def make_v2_env(name_or_config: str | CapabilityConfig | dict, **smac_kwargs: Any) -> SMACv2Env:
    """A SMACv2 scenario as a single SMAC-style env.

    ``name_or_config``: a name in :data:`SCENARIOS` (``"10gen_zerg_10_vs_11"``), a
    :class:`CapabilityConfig`, SMACv2's ``capability_config`` dict, or a SMACv2 map name
    (``"10gen_terran"``) together with ``capability_config={...}`` as SMACv2's wrapper takes it.
    Other keywords are SMAC's (``seed``, ``obs_last_action``...).
    """
    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACv2Env(config, **smac_kwargs)


def make_v2_vector_env(
    name_or_config: str | CapabilityConfig | dict, num_envs: int = 1, spread: bool = True, **smac_kwargs: Any
):
    """A SMACv2 scenario as :class:`~rlsuite.envs.smac.vector.SMACVectorEnv`: ``num_envs`` battles, each
    drawing its own army from its own stream at every (auto)reset."""
    from rlsuite.envs.smac.vector import SMACVectorEnv

    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACVectorEnv(
        v2_map_spec(config),
        num_envs,
        scenario=V2Scenario(config, spread=spread),
        **_strip_v2_kwargs(smac_kwargs),
    )


def make_v2_parallel_env(
    name_or_config: str | CapabilityConfig | dict, spread: bool = True, **smac_kwargs: Any
):
    """A SMACv2 scenario as the PettingZoo env (agents ``agent_<k>``: unit types change every episode)."""
    from rlsuite.envs.smac.pettingzoo_env import SMACParallelEnv

    config = resolve_config(name_or_config, smac_kwargs.pop("capability_config", None))
    return SMACParallelEnv(
        v2_map_spec(config), scenario=V2Scenario(config, spread=spread), **_strip_v2_kwargs(smac_kwargs)
    )
