"""Imports every sub-command module so that each registers itself on the app."""

# Add one line per command module.
