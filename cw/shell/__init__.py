"""Imperative shell: paths, the store, bundled resources, clock, environment."""
