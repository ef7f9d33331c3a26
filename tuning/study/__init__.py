"""A study's life: storage, create/resume/attach, samplers and pruners by name, starting points."""
