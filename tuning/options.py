"""Names the CLI offers, kept free of heavy imports so argument errors come back at once."""

MODELS = ("cnn", "mlp", "vgg16")
SAMPLERS = ("tpe", "random", "cmaes", "gp")
PRUNERS = ("hyperband", "median", "none")
