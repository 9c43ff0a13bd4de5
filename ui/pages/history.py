"""Page entry point; the view lives in ui/history_view.py."""

from ui import history_view

history_view.render()
