"""Shared machinery: seeding, logging, checkpoints, progress, device, run folders, training loop."""
