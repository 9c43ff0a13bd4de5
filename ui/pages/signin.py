"""Page entry point; the view lives in ui/signin_view.py."""

from ui import signin_view

signin_view.render()
