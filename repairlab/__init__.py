"""Repair Lab's application layer: storage, accounts, services and charts.

The pure scenario engine lives in `engine/`; this package adapts it to a
database and to the people who use it. The Streamlit views in `ui/` call the
services here and hold no business rules of their own.
"""
