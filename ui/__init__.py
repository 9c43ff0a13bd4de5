"""Streamlit views: thin pages that call `repairlab.services` and draw results."""
