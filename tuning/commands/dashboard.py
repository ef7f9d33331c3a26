"""`tune dashboard`: optuna-dashboard on the storage `tune start` uses, with the trials' artifacts."""

from __future__ import annotations

import sys

from tuning.trial.artifacts import artifact_location, artifact_store, check_artifact_store
from tuning.errors import UserError
from tuning.storage import backend_of, mask, open_storage, resolve_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_listen_address(host: str, port: int) -> None:
    """One line before the server starts: a port out of range, a host that does not resolve, or
    an address already in use (the server would print a traceback for each)."""
    import socket

    if not 1 <= port <= 65535:
        raise UserError(f"--port {port} is out of range; give a port in 1..65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"--host {host!r} does not resolve ({exc}); use 127.0.0.1 or this machine's address") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None


def cmd_dashboard(args) -> int:
    import optuna_dashboard

    # never makes a study file; in an empty database server it makes Optuna's tables, since compose
    # starts the dashboard beside the workers that will fill it
    storage = open_storage(args.storage, create=backend_of(args.storage).server, writes=False)
    check_listen_address(args.host, args.port)
    check_artifact_store()
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who reaches this machine can read and change "
              "your studies (the dashboard has no login); prefer an SSH tunnel to 127.0.0.1", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"optuna-dashboard for {mask(resolve_url(args.storage))} (artifacts in {artifact_location()}) "
          f"at http://{host}:{args.port}/dashboard/  (Ctrl-C stops it)", flush=True)
    optuna_dashboard.run_server(storage, host=args.host, port=args.port, artifact_store=artifact_store())
    return 0
