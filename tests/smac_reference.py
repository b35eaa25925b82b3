"""oxwhirl/smac v1.0.0's ``StarCraft2Env`` public surface, recorded from its source
(smac/env/starcraft2/starcraft2.py), for the API tests of the simulator and of the real-game adapter."""

# SMAC v1.0.0 StarCraft2Env public methods: (name, parameters after self, defaults of the trailing ones).
SMAC_METHODS = {
    "reset": ((), ()),
    "full_restart": ((), ()),
    "step": (("actions",), ()),
    "get_agent_action": (("a_id", "action"), ()),
    "get_agent_action_heuristic": (("a_id", "action"), ()),
    "reward_battle": ((), ()),
    "get_total_actions": ((), ()),
    "distance": (("x1", "y1", "x2", "y2"), ()),  # a staticmethod
    "unit_shoot_range": (("agent_id",), ()),
    "unit_sight_range": (("agent_id",), ()),
    "unit_max_cooldown": (("unit",), ()),
    "save_replay": ((), ()),
    "unit_max_shield": (("unit",), ()),
    "can_move": (("unit", "direction"), ()),
    "get_surrounding_points": (("unit", "include_self"), (False,)),
    "check_bounds": (("x", "y"), ()),
    "get_surrounding_pathing": (("unit",), ()),
    "get_surrounding_height": (("unit",), ()),
    "get_obs_agent": (("agent_id",), ()),
    "get_obs": ((), ()),
    "get_state": ((), ()),
    "get_ally_num_attributes": ((), ()),
    "get_enemy_num_attributes": ((), ()),
    "get_state_dict": ((), ()),
    "get_obs_enemy_feats_size": ((), ()),
    "get_obs_ally_feats_size": ((), ()),
    "get_obs_own_feats_size": ((), ()),
    "get_obs_move_feats_size": ((), ()),
    "get_obs_size": ((), ()),
    "get_state_size": ((), ()),
    "get_visibility_matrix": ((), ()),
    "get_unit_type_id": (("unit", "ally"), ()),
    "get_avail_agent_actions": (("agent_id",), ()),
    "get_avail_actions": ((), ()),
    "close": ((), ()),
    "seed": ((), ()),
    "render": (("mode",), ("human",)),
    "init_units": ((), ()),
    "get_unit_types": ((), ()),
    "update_units": ((), ()),
    "only_medivac_left": (("ally",), ()),
    "get_unit_by_id": (("a_id",), ()),
    "get_stats": ((), ()),
    "get_env_info": ((), ()),
}
# Its public attributes (set in __init__, reset, step and init_units).
SMAC_ATTRIBUTES = """
agents ally_state_attr_names baneling_id battles_game battles_won colossus_id continuing_episode
death_tracker_ally death_tracker_enemy debug defeat_counted difficulty enemies
enemy_state_attr_names episode_limit force_restarts game_version heuristic_ai heuristic_rest
heuristic_targets hydralisk_id last_action last_stats map_name map_type map_x map_y marauder_id
marine_id max_distance_x max_distance_y max_reward medivac_id n_actions n_actions_move
n_actions_no_attack n_agents n_enemies n_obs_height n_obs_pathing obs_all_health
obs_instead_of_state obs_last_action obs_own_health obs_pathing_grid obs_terrain_height
obs_timestep_number pathing_grid previous_ally_units previous_enemy_units renderer replay_dir
replay_prefix reward reward_death_value reward_defeat reward_negative_scale reward_only_positive
reward_scale reward_scale_rate reward_sparse reward_win shield_bits_ally shield_bits_enemy
stalker_id state_last_action state_timestep_number terrain_height timeouts unit_type_bits
win_counted window_size zealot_id zergling_id
""".split()
UNIT_NAMES = (
    "marine",
    "marauder",
    "medivac",
    "hydralisk",
    "zergling",
    "baneling",
    "stalker",
    "colossus",
    "zealot",
)
# What SMAC's PettingZoo wrapper (smac/env/pettingzoo/StarCraft2PZEnv.py) reads and calls on the env.
WRAPPER_USES = """reset get_obs_size get_state_size agents get_total_actions marine_id marauder_id medivac_id
hydralisk_id zergling_id baneling_id stalker_id colossus_id zealot_id _seed full_restart render close
_episode_count get_obs_agent get_avail_agent_actions get_unit_by_id n_agents step get_state""".split()
