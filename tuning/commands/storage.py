"""`tune storage serve`: Optuna's gRPC storage proxy in front of a storage, so hundreds of workers
share the one process's database connections (workers and the dashboard: --storage grpc://HOST:PORT)."""

from __future__ import annotations


from tuning.commands.dashboard import announce_host, check_listen_address
from tuning.errors import UserError
from tuning.storage import backend_of, mask, open_storage, resolve_url


def cmd_serve(args) -> int:
    from optuna.storages import run_grpc_proxy_server

    url = resolve_url(args.storage)
    if backend_of(url).name == "grpc":
        raise UserError(f"--storage {url} is itself a proxy; serve the database it serves (e.g. postgresql+psycopg://...)")
    check_listen_address(args.host, args.port)
    storage = open_storage(url)  # made if new, as `tune start` would
    host = announce_host(args.host, "the proxy has no login; keep it on a private network")
    print(f"serving {mask(url)} at grpc://{host}:{args.port} (workers and the dashboard: --storage "
          f"grpc://{host}:{args.port}; Ctrl-C stops it)", flush=True)
    try:
        run_grpc_proxy_server(storage, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0
