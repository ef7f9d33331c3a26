"""One trial: search spaces, the objective, fit, the VGG16 feature cache, artifacts."""
