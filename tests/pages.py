"""Opening one of the app's pages in an AppTest session, as a click in the menu would.

The app's pages are functions registered under URL paths (`ui/navigation.py`), and
`AppTest.switch_page()` only finds pages by their script file. Streamlit names a page in a
rerun request by the hash of its URL path, which is what this sets.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash


def switch_page(app: AppTest, name: str) -> AppTest:
    """Pick the page at URL path `name` for the next `app.run()`, if the last run offered it.

    Raises ValueError, as `AppTest.switch_page()` does, when the menu of the last run did not
    offer that page (so a test can assert that a page is withheld from someone).
    """
    if not hasattr(app, "_registered_pages") or not hasattr(app, "_page_hash"):
        raise RuntimeError(
            "AppTest no longer has _registered_pages/_page_hash (written for streamlit 1.67): "
            "update tests/pages.py to this Streamlit's way of picking a page by URL path."
        )
    page_hash = calc_hash(name)
    if page_hash not in app._registered_pages:  # keyed by page hash (the default page's URL path is "")
        offered = sorted(str(info.get("page_name")) for info in app._registered_pages.values())
        raise ValueError(f"Could not find a navigation page {name!r}; the menu offers {offered}")
    app._page_hash = page_hash
    return app
