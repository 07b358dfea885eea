"""Forge drivers: one package per forge, each exporting a ForgeDriver, all listed in registry.py."""
