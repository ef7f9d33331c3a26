"""The names the CLI offers that have no light table of their own, kept free of heavy imports so
argument errors come back at once. Samplers and pruners are named by their own tables
(tuning.study.samplers.SAMPLERS, tuning.study.pruners.PRUNERS)."""

MODELS = ("cnn", "mlp", "vgg16")  # models.FAMILIES registers their builders (a test keeps both equal)
#: KerasTuner's strategies: `--tuner` name -> keras_tuner class (tuning.workers.kerastuner builds them)
TUNERS = {"hyperband": "Hyperband", "bayesian": "BayesianOptimization", "random": "RandomSearch"}
