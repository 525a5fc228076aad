"""Try to open a live engine on BACKEND; print JSON {"ok", "error", "seconds"}; exit 0 if it
booted, 3 on a clean LatentcodeError (anything else is a failure: traceback or signal).

Usage: backend_check.py jack|portaudio [--server NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from latentcode.audio.backends import available_backends
from latentcode.audio.engine import Engine
from latentcode.errors import LatentcodeError


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("backend")
    ap.add_argument("--server")
    args = ap.parse_args()
    t0 = time.monotonic()
    try:
        engine = Engine(args.backend, tracks=2, jack_server=args.server)
    except LatentcodeError as e:
        print(json.dumps({"ok": False, "error": str(e), "seconds": time.monotonic() - t0,
                          "available": available_backends(args.server)}))
        return 3
    engine.close()
    print(json.dumps({"ok": True, "error": None, "seconds": time.monotonic() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
