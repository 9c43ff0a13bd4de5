"""Per-process services and per-browser identity for the Streamlit views.

Who is using this browser session, in order of trust:

1. an OIDC sign-in (`st.login`, when `[auth]` is configured in secrets.toml):
   the account is found or created by the provider's stable `sub`;
2. a local sign-in: an opaque session token kept in the session and in the
   URL (`?s=`), so a refresh keeps you signed in; the database stores only its
   hash, and it expires (see repairlab/services/signin.py);
3. a guest (display name only), restored from `?u=` — accepted only for
   guest users and only where this deployment allows guest practice.
"""

from __future__ import annotations

import threading
import time

import streamlit as st

from repairlab.services.access import Viewer
from repairlab.services.accounts import Account
from repairlab.services.container import Services, build_services
from repairlab.services.guests import guest_practice_allowed
from repairlab.services.practice import UserRef
from repairlab.services.signin import SignedIn

GUEST_KEY = "guest_public_id"
TOKEN_KEY = "session_token"
GUEST_PARAM = "u"
TOKEN_PARAM = "s"


ADMIN_RECHECK_SECONDS = 2.0  # before the first administrator exists, how long "none yet" is trusted


class _ProcessServices:
    """The process's one `Services` (engines, catalog, caches), built on first use,
    and the facts about this deployment that views ask on every rerun.

    A plain lock-guarded singleton rather than `st.cache_resource`: views ask for
    it several times per rerun, and the cache's per-call bookkeeping cost more
    than the rest of the lookup (measured: 5% of a choice click's script run).
    `get_services.clear()` drops it, as tests do between databases.
    """

    def __init__(self) -> None:
        self._services: Services | None = None
        self._guests_allowed: bool | None = None
        self._auth_configured: bool | None = None
        self._admin_seen: bool | float | None = None  # True, or when "no administrator yet" was read
        self._lock = threading.Lock()

    def __call__(self) -> Services:
        services = self._services
        if services is None:
            with self._lock:
                if self._services is None:
                    self._services = build_services()
                services = self._services
        return services

    def guests_allowed(self) -> bool:
        """Whether guests may practise here: fixed by the settings and the listening address."""
        allowed = self._guests_allowed
        if allowed is None:
            settings = self().settings
            allowed = self._guests_allowed = guest_practice_allowed(
                settings.guest_practice, st.get_option("server.address")
            )
        return allowed

    def auth_configured(self) -> bool:
        """Whether secrets.toml configures an OIDC provider; read once, so a change applies at restart."""
        configured = self._auth_configured
        if configured is None:
            try:
                configured = "auth" in st.secrets
            except Exception:  # no secrets file at all
                configured = False
            self._auth_configured = configured
        return configured

    def admin_exists(self) -> bool:
        """Whether an administrator exists. Once true it stays true; "not yet" is re-asked every 2 s."""
        seen = self._admin_seen
        if seen is True:
            return True
        now = time.monotonic()
        if seen is not None and now - seen < ADMIN_RECHECK_SECONDS:
            return False
        exists = self().accounts.admin_exists()
        self._admin_seen = True if exists else now
        return exists

    def admin_created(self) -> None:
        self._admin_seen = True

    def clear(self) -> None:
        with self._lock:
            self._services = None
            self._guests_allowed = None
            self._auth_configured = None
            self._admin_seen = None


get_services = _ProcessServices()


RECHECK_SECONDS = 30  # how long a resolved identity is trusted before the database is asked again


def _remembered(key: str, fingerprint: object, load):  # type: ignore[no-untyped-def]
    """`load()`, reused for this browser session while `fingerprint` is unchanged and recent."""
    cached = st.session_state.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] == fingerprint and now - cached[1] < RECHECK_SECONDS:
        return cached[2]
    value = load()
    st.session_state[key] = (fingerprint, now, value)
    return value


def forget_identity() -> None:
    for key in ("_account_cache", "_guest_cache"):
        st.session_state.pop(key, None)


def auth_configured() -> bool:
    """True when an OIDC provider is configured under [auth] in secrets.toml (read once per process)."""
    return get_services.auth_configured()


def guests_allowed() -> bool:
    return get_services.guests_allowed()


def client_key() -> str | None:
    """What we can tell about the browser, for sign-in throttling."""
    try:
        forwarded = st.context.headers.get("X-Forwarded-For")
        if isinstance(forwarded, str) and forwarded.strip():
            return forwarded.split(",")[0].strip()
        address = st.context.ip_address
        return address if isinstance(address, str) and address else None  # AppTest gives a mock
    except Exception:
        return None


def _oidc_account() -> Account | None:
    if not auth_configured():
        return None
    try:
        if not st.user.is_logged_in:
            return None
        subject = st.user.get("sub")
    except Exception:
        return None
    if not subject:
        return None
    cached = st.session_state.get("oidc_account")
    if cached is not None and cached[0] == subject:
        return get_services().accounts.account(cached[1])
    account = get_services().accounts.sign_in_oidc(
        subject, st.user.get("email"), st.user.get("name"), bool(st.user.get("email_verified"))
    )
    st.session_state["oidc_account"] = (subject, account.id)
    return account


def current_account() -> Account | None:
    """The signed-in account (OIDC or local), or None for guests and strangers."""
    account = _oidc_account()
    if account is not None:
        return account
    kept = st.session_state.get(TOKEN_KEY)
    token = kept or st.query_params.get(TOKEN_PARAM)
    if not token:
        return None
    account = _remembered("_account_cache", token, lambda: get_services().signin.resolve(token))
    if account is None:
        st.session_state.pop(TOKEN_KEY, None)
        if TOKEN_PARAM in st.query_params:
            del st.query_params[TOKEN_PARAM]
        return None
    if kept != token:
        st.session_state[TOKEN_KEY] = token
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token
    return account


def current_guest() -> UserRef | None:
    kept = st.session_state.get(GUEST_KEY)
    public_id = kept or st.query_params.get(GUEST_PARAM)
    if not public_id or not guests_allowed():
        return None
    user = _remembered("_guest_cache", public_id, lambda: get_services().practice.user_by_public_id(public_id))
    if user is None or not user.is_guest:
        return None  # an account's public id is not a password
    if kept != user.public_id:
        st.session_state[GUEST_KEY] = user.public_id
    return user


def current_user() -> UserRef | None:
    """Whoever is practising in this browser session: an account or a guest."""
    account = current_account()
    if account is not None:
        return account.ref
    return current_guest()


def current_viewer() -> Viewer | None:
    account = current_account()
    if account is not None:
        return account.viewer
    guest = current_guest()
    return Viewer(guest.id, "trainee") if guest else None


def set_current_user(user: UserRef) -> None:
    """Adopt a guest identity (display name only) for this browser session."""
    if not user.is_guest:
        return
    st.session_state[GUEST_KEY] = user.public_id
    st.query_params[GUEST_PARAM] = user.public_id


def signed_in(result: SignedIn) -> int:
    """Keep a fresh local session; a guest's attempts move to the account. Returns how many moved."""
    forget_identity()
    moved = 0
    guest = current_guest()
    if guest is not None and guest.id != result.account.id:
        moved = get_services().accounts.claim_guest_attempts(guest.id, result.account.id)
    st.session_state.pop(GUEST_KEY, None)
    if GUEST_PARAM in st.query_params:
        del st.query_params[GUEST_PARAM]
    st.session_state[TOKEN_KEY] = result.token
    st.query_params[TOKEN_PARAM] = result.token
    return moved


def sign_out() -> None:
    forget_identity()
    token = st.session_state.pop(TOKEN_KEY, None) or st.query_params.get(TOKEN_PARAM)
    if token:
        get_services().signin.sign_out(token)
    for param in (TOKEN_PARAM, GUEST_PARAM):
        if param in st.query_params:
            del st.query_params[param]
    st.session_state.pop(GUEST_KEY, None)
    st.session_state.pop("oidc_account", None)


def identity_params() -> dict[str, str]:
    """Query parameters that carry identity across page switches."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        return {TOKEN_PARAM: token}
    public_id = st.session_state.get(GUEST_KEY)
    return {GUEST_PARAM: public_id} if public_id else {}


def admin_exists() -> bool:
    """Whether an administrator exists (asked on every rerun by the router; see `_ProcessServices`)."""
    return get_services.admin_exists()


def admin_created() -> None:
    """The first administrator was just created: the menu drops the setup page at once."""
    get_services.admin_created()
