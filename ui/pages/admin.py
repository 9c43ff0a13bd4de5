"""Page entry point; the view lives in ui/admin_view.py."""

from ui import admin_view

admin_view.render()
