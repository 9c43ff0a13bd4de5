"""Page entry point; the view lives in ui/authors_view.py."""

from ui import authors_view

authors_view.render()
