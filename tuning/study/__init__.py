"""A study's life: create/resume, rungs, samplers and pruners by name, starting points."""
