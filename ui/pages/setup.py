"""Page entry point; the view lives in ui/setup_view.py."""

from ui import setup_view

setup_view.render()
