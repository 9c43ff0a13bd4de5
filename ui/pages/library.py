"""Page entry point; the view lives in ui/library_view.py."""

from ui import library_view

library_view.render()
