"""Page entry point; the view lives in ui/play_view.py."""

from ui import play_view

play_view.render()
