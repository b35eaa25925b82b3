"""Other libraries' algorithms (Stable-Baselines3, Tianshou) behind rlsuite's Algorithm interface."""
