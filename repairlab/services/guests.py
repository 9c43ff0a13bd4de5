"""Whether people may practise as guests (a display name, no account) on this server.

A fresh install on one machine should let someone practise within a minute,
but a server reachable from a network should not take anonymous records
unless its operator says so. The rule:

* ``REPAIRLAB_GUEST_PRACTICE`` set (``Settings.guest_practice`` True/False)
  decides, whatever the address;
* unset, guests are allowed only when Streamlit listens on a loopback address
  (``server.address`` is ``localhost``, ``127.x.x.x`` or ``::1``), which no
  other machine can reach.

An *unset* ``server.address`` counts as **not** local: Streamlit then binds
every interface, so anyone on the network can reach the app. That is why the
project's ``.streamlit/config.toml`` should set ``address = "localhost"``: a
fresh ``streamlit run`` is then local and guests may practise, and a
deployment that opens the server up (``--server.address 0.0.0.0``) turns
guest practice off until it sets ``REPAIRLAB_GUEST_PRACTICE=1`` on purpose.
"""

from __future__ import annotations

import ipaddress


def is_loopback(server_address: str | None) -> bool:
    address = (server_address or "").strip().lower()
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def guest_practice_allowed(settings_value: bool | None, server_address: str | None) -> bool:
    """The deployment's explicit setting, else: only when listening on loopback."""
    if settings_value is not None:
        return bool(settings_value)
    return is_loopback(server_address)
