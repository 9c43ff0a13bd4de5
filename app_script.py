"""The script Streamlit runs for every browser session: the router in `ui/router.py`."""

from ui.router import run

run()
