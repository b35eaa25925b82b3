"""Environments: registry, conformance checks and the built-in families."""
