"""Per-process services and per-browser identity for the Streamlit views."""

from __future__ import annotations

import streamlit as st

from repairlab.services.container import Services, build_services
from repairlab.services.practice import UserRef

USER_KEY = "user_public_id"


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    return build_services()


def current_user() -> UserRef | None:
    """The trainee of this browser session, restored from the URL after a refresh."""
    services = get_services()
    public_id = st.session_state.get(USER_KEY) or st.query_params.get("u")
    user = services.practice.user_by_public_id(public_id)
    if user is not None:
        st.session_state[USER_KEY] = user.public_id
    return user


def set_current_user(user: UserRef) -> None:
    st.session_state[USER_KEY] = user.public_id
    st.query_params["u"] = user.public_id


def identity_params() -> dict[str, str]:
    """Query parameters that carry identity across page switches."""
    public_id = st.session_state.get(USER_KEY)
    return {"u": public_id} if public_id else {}
