"""`tune dashboard`: optuna-dashboard on the storage `tune start` uses, with the trials' artifacts."""

from __future__ import annotations

import sys

from tuning.artifacts import artifact_dir, artifact_store
from tuning.storage import mask, open_storage, resolve_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def cmd_dashboard(args) -> int:
    import optuna_dashboard

    storage = open_storage(args.storage, create=False)
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who reaches this machine can read and change "
              "your studies (the dashboard has no login); prefer an SSH tunnel to 127.0.0.1", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"optuna-dashboard for {mask(resolve_url(args.storage))} (artifacts in {artifact_dir()}) "
          f"at http://{host}:{args.port}/dashboard/  (Ctrl-C stops it)", flush=True)
    optuna_dashboard.run_server(storage, host=args.host, port=args.port, artifact_store=artifact_store())
    return 0
