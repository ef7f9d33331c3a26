"""The engines a study runs on, and KerasTuner's strategies; free of heavy imports, so the CLI
reads them at once. Samplers, pruners and model families are named by their own tables
(tuning.study.samplers.SAMPLERS, tuning.study.pruners.PRUNERS, tuning.families.FAMILIES)."""

ENGINES = ("optuna", "kerastuner")
#: KerasTuner's strategies: `--tuner` name -> keras_tuner class (tuning.workers.kerastuner builds them)
TUNERS = {"hyperband": "Hyperband", "bayesian": "BayesianOptimization", "random": "RandomSearch"}
