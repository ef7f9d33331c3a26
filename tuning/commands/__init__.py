"""One module per `tune` command: argparse values in, typed settings out."""
