"""Page entry point; the view lives in ui/group_host_view.py."""

from ui import group_host_view

group_host_view.render()
