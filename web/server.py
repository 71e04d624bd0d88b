"""Serving the app with waitress (`plansearch serve`).

One process serves requests on `threads` threads that share one Engine (the index is
loaded once). Searching is mostly Python, so threads mainly help with waiting clients;
for more throughput run several processes, each with its own port, behind a reverse
proxy that balances between them, e.g.

    plansearch serve --port 8001 &
    plansearch serve --port 8002 &
    # nginx: upstream plansearch { server 127.0.0.1:8001; server 127.0.0.1:8002; }

Every process reads the same index folder (builds are swapped in atomically, see
search.store); restart the processes one by one after `plansearch build`.
"""
from __future__ import annotations

from waitress import create_server

from search.engine import Engine

from . import create_app

WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}


def make_server(engine: Engine, host: str = "127.0.0.1", port: int = 8000, threads: int = 8):
    """A waitress server for the app on host:port (port 0: any free port, see .effective_port)."""
    return create_server(create_app({"ENGINE": engine}), host=host, port=port, threads=threads,
                         ident="PlanSearch")


def serve(engine: Engine, host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
    """Serve until interrupted, printing the address to open."""
    server = make_server(engine, host, port, threads)
    # A wildcard address is not one to open in a browser: show the loopback one instead.
    shown_host = WILDCARDS.get(host, f"[{host}]" if ":" in host else host)
    print(f"PlanSearch 规划检索: http://{shown_host}:{server.effective_port}/  ({threads} threads; Ctrl+C to stop)",
          flush=True)
    server.run()
