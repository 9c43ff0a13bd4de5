"""Page entry point; the view lives in ui/authoring_view.py."""

from ui import authoring_view

authoring_view.render()
