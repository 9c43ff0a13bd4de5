"""Page entry point; the view lives in ui/account_view.py."""

from ui import account_view

account_view.render()
