"""Page entry point; the view lives in ui/dashboard_view.py."""

from ui import dashboard_view

dashboard_view.render()
