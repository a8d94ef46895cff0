"""``python -m ui [--host H] [--port P] [--share] [settings]``: start the chat (see ui/app.py).

The entry point of the web chat: it parses the flags, builds the one ``Config`` and sets the
environment (offline models, no telemetry) before anything is imported that reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from qa.config import OFFLINE_ENVIRONMENT, add_config_arguments, config_from

# Offline: never contact a model hub, and no gradio telemetry.
ENVIRONMENT = {**OFFLINE_ENVIRONMENT, "GRADIO_ANALYTICS_ENABLED": "False"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ui", description="Start the chat over the indexed documents.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    add_config_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    args = parse_args(argv)
    from ui.app import build_app, launch  # gradio is imported inside these, after the environment is set

    app = build_app(config_from(args, os.environ))
    launch(app, host=args.host, port=args.port, share=args.share, block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
