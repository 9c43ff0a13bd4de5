"""Page entry point; the view lives in ui/cohorts_view.py."""

from ui import cohorts_view

cohorts_view.render()
