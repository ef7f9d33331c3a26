"""Names the CLI offers, kept free of heavy imports so argument errors come back at once."""

MODELS = ("cnn", "mlp", "vgg16")
SAMPLERS = ("tpe", "random", "cmaes")  # tuning.study.samplers.SAMPLERS builds them (a test keeps both equal)
PRUNERS = ("hyperband", "median", "none")
