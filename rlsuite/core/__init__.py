"""The foundation layer: seeding, atomic files, checkpoints, logging, progress, device, buffers, team specs.

Modules here import nothing from the rest of rlsuite (tests/test_layers.py checks it).
"""
