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


def announce_host(host: str, unguarded: str) -> str:
    """Warn when `host` is beyond loopback (`unguarded`: what has no login, and what to do); the
    host as it reads in a URL."""
    if host not in LOOPBACK:
        print(f"warning: listening on {host}: anyone who reaches this machine can read and change your studies "
              f"({unguarded})", file=sys.stderr)
    return f"[{host}]" if ":" in host else host


def cmd_dashboard(args) -> int:
    import optuna_dashboard

    # never makes a study file; in an empty database server it makes Optuna's tables, since compose
    # starts the dashboard beside the workers that will fill it
    storage = open_storage(args.storage, create=backend_of(args.storage).server, writes=False)
    check_listen_address(args.host, args.port)
    check_artifact_store()
    host = announce_host(args.host, "the dashboard has no login; prefer an SSH tunnel to 127.0.0.1")
    print(f"optuna-dashboard for {mask(resolve_url(args.storage))} (artifacts in {artifact_location()}) "
          f"at http://{host}:{args.port}/dashboard/  (Ctrl-C stops it)", flush=True)
    optuna_dashboard.run_server(storage, host=args.host, port=args.port, artifact_store=artifact_store())
    return 0
