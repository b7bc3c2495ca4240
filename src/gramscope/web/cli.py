"""``gramscope demo``: serve the live demo on this machine and print its address."""

from __future__ import annotations

import argparse
from typing import Any

from ..arguments import add_style_options, options_from_args


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand; its limits' defaults live in :mod:`gramscope.web.app`,
    read here only when the parser is built so ``gramscope --help`` never imports Gradio."""
    parser = subparsers.add_parser(
        "demo", help="open the live web demo (a local page; nothing leaves the machine)",
        description="Serve the interactive demo on HOST:PORT and print its URL. Style "
        "options set the controls' starting values.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--max-runs", type=int, default=None, metavar="N",
                        help="runs computed at once; more visitors wait in a queue and see "
                        "their place in it (default: 1, best on a few CPU cores)")
    parser.add_argument("--queue-size", type=int, default=None, metavar="N",
                        help="runs allowed to wait; beyond that visitors are told to come back "
                        "(default: 16)")
    parser.add_argument("--max-upload-mb", type=float, default=None, metavar="MB",
                        help="largest upload accepted (default: 20)")
    add_style_options(parser)
    parser.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from ..device import network_for
    from ..errors import OptionsError
    from . import app

    limits = {
        "max_runs": app.MAX_RUNS if args.max_runs is None else args.max_runs,
        "queue_size": app.QUEUE_SIZE if args.queue_size is None else args.queue_size,
    }
    for name, value in limits.items():
        if value < 1:
            raise OptionsError(f"--{name.replace('_', '-')} must be 1 or more, not {value}")
    upload_mb = app.MAX_UPLOAD_MB if args.max_upload_mb is None else args.max_upload_mb
    if not upload_mb > 0:
        raise OptionsError(f"--max-upload-mb must be more than zero, not {upload_mb}")
    options = options_from_args(args)
    # Load the network now, so the first visitor does not wait for it.
    network_for(options)
    demo = app.build_app(options, **limits)
    url = app.launch(demo, args.host, args.port, max_upload_mb=upload_mb)
    print(f"gramscope demo: {url}  (Ctrl-C to stop)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.demo_state.controls.stop_all()
        demo.close()
    return 0
