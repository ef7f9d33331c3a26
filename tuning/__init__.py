"""Search spaces, the objective, studies and storage, export, benchmark and the `tune` CLI."""
