"""A deterministic sample landing folder for a small ML organisation (see generator.py)."""
