"""The loop that runs trials: targets, deadlines, signals, recycling, parallel workers, KerasTuner."""
