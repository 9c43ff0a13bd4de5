"""Debian's Chromium for browser tests: where it is and the flags this machine needs."""

import os

CHROMIUM = os.environ.get("REPAIRLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
