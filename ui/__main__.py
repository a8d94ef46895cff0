"""``python -m ui [--host H] [--port P] [--share] [--index DIR]``: start the chat."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
