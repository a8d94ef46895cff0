"""``python -m ui [--host H] [--port P] [--share] [--read-only] [--no-feedback] [--auth-file F] [settings]``.

The entry point of the web chat: it parses the flags, builds the one ``Config`` and sets the
environment (offline models, no telemetry) before anything is imported that reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from qa.config import OFFLINE_ENVIRONMENT, add_config_arguments, config_from

# The interpreter's thread switch interval in the chat server (Python's default: 5 ms). An upload's
# pure-Python steps (cleaning, sentence splitting) hold the GIL in 5 ms slices, and a question's thread,
# which mostly waits in torch with the GIL released, needs it back dozens of times per answer.
SWITCH_INTERVAL_S = 0.0005

# Offline: never contact a model hub, and no gradio telemetry.
ENVIRONMENT = {**OFFLINE_ENVIRONMENT, "GRADIO_ANALYTICS_ENABLED": "False"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ui", description="Start the chat over the indexed documents.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    parser.add_argument("--read-only", action="store_true",
                        help="no uploads or other document changes (feedback is still taken unless --no-feedback)")
    parser.add_argument("--no-feedback", action="store_true",
                        help="no 👍/👎 in the chat (default: appended to <index>.feedback.jsonl beside the index)")
    parser.add_argument("--auth-file", type=Path, metavar="FILE",
                        help="require a login: one user:password a line (or set QA_AUTH_FILE)")
    add_config_arguments(parser)
    return parser.parse_args(argv)


def read_auth_file(path: Path) -> list[tuple[str, str]]:
    """``user:password`` pairs, one a line (blank lines and # comments skipped); a bad file is a SystemExit(2)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SystemExit(f"error: cannot read the auth file {path}: {error}") from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, password = line.strip().partition(":")
        if not sep or not user or not password:
            raise SystemExit(f"error: {path}, line {number}: write user:password (both non-empty).")
        pairs.append((user, password))
    if not pairs:
        raise SystemExit(f"error: {path} holds no user:password line; nobody could log in.")
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    args = parse_args(argv)
    auth_file = args.auth_file or (Path(os.environ["QA_AUTH_FILE"]) if os.environ.get("QA_AUTH_FILE") else None)
    auth = read_auth_file(auth_file) if auth_file is not None else None
    from ui.app import build_app, launch  # gradio is imported inside these, after the environment is set
    from ui.feedback import feedback_path

    config = config_from(args, os.environ)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    feedback = None if args.no_feedback else feedback_path(config.index_path)
    app = build_app(config, feedback_file=feedback, read_only=args.read_only, warm=True)
    launch(app, host=args.host, port=args.port, share=args.share, block=True, auth=auth)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
