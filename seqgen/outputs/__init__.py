"""Output writers: what a generated example becomes on disk (image grids and PNGs)."""
