"""The engines a study runs on, and KerasTuner's strategies; free of heavy imports, so the CLI
reads them at once. Samplers, pruners and model families are named by their own tables
(tuning.study.samplers.SAMPLERS, tuning.study.pruners.PRUNERS, tuning.families.FAMILIES)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Engine:
    """What runs a study's trials (StudySettings.engine); its settings' `sampler` is its strategy."""

    name: str
    runner: str  # "module:function" running the study's trials in this process: (joined, target, timeout, threads)
    strategies: tuple[str, ...]  # what `sampler` may name: Optuna's samplers, or KerasTuner's tuners
    queues_starting_points: bool  # the reference, warm starts and known-good configs (Optuna draws after them)
    workers_join: bool  # `tune worker` and `--workers N` add workers to its studies


#: engine name -> Engine; `tune start --engine` offers these keys
ENGINES = {
    "optuna": Engine("optuna", "tuning.workers.loop:work", ("tpe", "random", "cmaes"), True, True),
    "kerastuner": Engine("kerastuner", "tuning.workers.kerastuner:work_kerastuner", ("hyperband", "bayesian", "random"),
                         False, False),
}
#: KerasTuner's strategies: `--tuner` name -> keras_tuner class (tuning.workers.kerastuner builds them)
TUNERS = {"hyperband": "Hyperband", "bayesian": "BayesianOptimization", "random": "RandomSearch"}


def run_engine(name: str, joined, target: int, timeout: int | None = None, threads: int | None = None) -> None:
    """Run the study's trials in this process with the engine's runner (imported only now)."""
    import importlib

    module, _, function = ENGINES[name].runner.partition(":")
    getattr(importlib.import_module(module), function)(joined, target, timeout, threads)
