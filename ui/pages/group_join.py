"""Page entry point; the view lives in ui/group_join_view.py."""

from ui import group_join_view

group_join_view.render()
