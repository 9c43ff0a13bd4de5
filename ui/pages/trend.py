"""Page entry point; the view lives in ui/trend_view.py."""

from ui import trend_view

trend_view.render()
