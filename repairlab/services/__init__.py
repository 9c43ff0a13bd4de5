"""Use cases the UI calls: catalog, practice, history (and, later, accounts)."""
