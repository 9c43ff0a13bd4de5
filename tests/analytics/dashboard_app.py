"""A tiny app for AppTest: the dashboard (or trend) view for the viewer named in the query string.

Used by the tests and by bench/bench_analytics.py until the router lists the
pages; the real app finds the viewer through `ui.context`.
"""

import sys
from pathlib import Path

import streamlit as st

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # under `streamlit run`, only this file's folder is on the path
    sys.path.insert(0, ROOT)

from repairlab.services.access import Viewer  # noqa: E402
from ui import dashboard_view, trend_view  # noqa: E402

user_id = st.query_params.get("viewer")
viewer = Viewer(int(user_id), st.query_params.get("role", "supervisor")) if user_id else None
if st.query_params.get("page") == "trend":
    trend_view.render(viewer)
else:
    dashboard_view.render(viewer)
