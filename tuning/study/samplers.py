"""Samplers by name: the table `tune start --sampler` offers. Optuna is imported when a sampler is
made, so the CLI reads the names without it."""

from __future__ import annotations


def startup_trials(target: int) -> int:
    """Trials TPE draws before it models the study: Optuna's 10 would be a 12-trial study's whole
    budget; a quarter of the budget, 4..6 (the enqueued starting points count among them, so TPE
    models the study after 1-3 random draws). Capped, not scaled up: a study bounded by
    `--timeout` holds a huge `--trials`, and 10 random draws would be all a 600 s study runs."""
    return max(4, min(6, target // 4))


def make_sampler(name: str, seed: int | None, target: int = 40):
    return SAMPLERS[name](seed, startup_trials(target))


def _tpe(seed, startup):
    import optuna

    # group: the space is conditional (blocks, optimizer), so model each set of co-occurring params
    # jointly; constant_liar keeps parallel workers from proposing the same point
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, group=True,
                                      constant_liar=True)


def _random(seed, startup):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def _cmaes(seed, startup):
    import optuna

    # CMA-ES models the numeric params; the categorical ones come from its independent (random) sampler
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False,
                                        consider_pruned_trials=True)  # as its docs advise under a pruner


#: sampler name -> factory(seed, startup trials)
SAMPLERS = {"tpe": _tpe, "random": _random, "cmaes": _cmaes}
