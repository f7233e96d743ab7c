"""Recipes shipped with seqgen (package data ``seqgen.recipes``): one folder per recipe, a config.toml and a README, no Python."""
