"""Repair Lab: the Streamlit entry point (`streamlit run streamlit_app.py`).

The router is `ui/router.py`; the pages live in `ui/pages/` and their views in `ui/`.
"""

from ui.router import run

run()
