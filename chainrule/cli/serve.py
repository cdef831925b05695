"""``chainrule serve``: the interactive page on a local server.

    chainrule serve                                  # Playground's data sets, a 2-4-2-1 network
    chainrule serve --example house-price            # seed 001's network, weights, input and target
    chainrule serve MODEL.safetensors [--data CSV]   # a trained model, with its data to train on
    chainrule serve --port 9000 --no-browser         # a chosen port; print the address only

It listens on 127.0.0.1 (this computer only) unless ``--host`` says otherwise; the page has no
login.  Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import webbrowser
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_data, check_model, count

USAGE = "serve MODEL.safetensors --data DATA.csv"


def register(subparsers: Any) -> None:
    """Add ``chainrule serve``."""
    parser = subparsers.add_parser(
        "serve",
        help="open the interactive page (needs chainrule[web])",
        description="Serve the interactive page where every weight, gradient and update shows its chain rule. "
        "Listens on 127.0.0.1 unless --host is given; Ctrl-C stops it.",
    )
    parser.add_argument("model", nargs="?", metavar="MODEL.safetensors", help="a model saved by chainrule train")
    parser.add_argument(
        "--data",
        metavar="CSV",
        help="the model's data (with its target column), to train on "
        "(default: one row at the training means, to explain the gradients)",
    )
    parser.add_argument(
        "--example", choices=("house-price",), help="open seed 001's worked example (default: Playground's data sets)"
    )
    parser.add_argument(
        "--port",
        type=count(0, 65535, example="--port 8765"),
        help="port to listen on (default: 8765, or a free one if it is busy; 0 for any free one)",
    )
    parser.add_argument(
        "--host",
        help="address to listen on (default: 127.0.0.1, this computer only; the page has no login: "
        "anyone who can reach another address can use it)",
    )
    parser.add_argument("--no-browser", action="store_true", help="print the address; do not open a browser")
    parser.set_defaults(run=run)


def _start(args: argparse.Namespace) -> Any:
    from chainrule.web.session import Start

    if args.model and args.example:
        raise UsageError("give a MODEL.safetensors or --example, not both")
    if args.data and not args.model:
        raise UsageError("--data goes with a model: chainrule serve MODEL.safetensors --data CSV")
    if not args.model:
        return Start(example=args.example)
    check_model(args.model, USAGE, others=[args.data])
    check_data(args.data, USAGE)
    from chainrule import io
    from chainrule.diagnostics.notation import network_layers

    checkpoint = io.load(args.model)
    network_layers(checkpoint.model)  # the page draws Linear layers and element-wise activations only
    from chainrule.web.workflow import mean_row

    arrays = mean_row(checkpoint.model, checkpoint.preprocessor)
    if args.data:
        from chainrule.data import read_csv
        from chainrule.web.workflow import model_arrays

        if checkpoint.preprocessor is None:
            raise UsageError(
                f"{args.model} holds no preprocessing, so --data cannot be encoded; save it with chainrule train"
            )
        arrays = model_arrays(checkpoint.preprocessor, read_csv(args.data))
    return Start(checkpoint=checkpoint, model_data=arrays, model_name=args.model)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; returns 0."""
    try:
        from chainrule.web.app import LOCAL_HOSTS, LOOPBACK, Server, bind, make_server
    except ImportError as error:
        raise UsageError(f"{error}") from None
    start = _start(args)
    host = args.host or LOOPBACK
    if args.host is not None:
        print(
            f"chainrule: warning: listening on {host}: the page has no login, so anyone who can reach "
            "this address can use it and read what you upload",
            file=sys.stderr,
        )
    sock = bind(host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    server = make_server(Server(start, hosts=None if args.host else LOCAL_HOSTS).app, sock)
    print(f"chainrule serve: {url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down first, then passes Ctrl-C on
        server.run(sockets=[sock])
    print("chainrule serve: stopped", file=sys.stderr)
    return 0
