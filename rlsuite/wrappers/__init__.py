"""Observation/reward normalisation and other wrappers."""
