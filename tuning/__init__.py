"""The `tune` CLI and everything it runs: commands, studies, trials, workers, results (README: Layout)."""
