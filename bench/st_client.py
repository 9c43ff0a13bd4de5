"""A small asyncio client of Streamlit 1.67's browser protocol, for load tests.

It talks to a real ``streamlit run`` exactly as the browser's frontend does,
with no browser: what Streamlit's own load tests do. Only packages the app
already installs are used (``websockets``, which uvicorn brings, and the
protobufs in ``streamlit.proto``).

How a browser session works, and what this client does at each step
(read from streamlit/web/server/starlette/starlette_websocket.py,
runtime/app_session.py, runtime/scriptrunner_utils/script_requests.py and the
frontend bundle):

1. The page is fetched over HTTP, and ``/_stcore/health`` is pinged; that
   response sets the ``_streamlit_xsrf`` cookie when
   ``server.enableXsrfProtection`` is on (this app's config turns it on).
2. The WebSocket ``/_stcore/stream`` is opened with the cookie and the
   subprotocols ``["streamlit", <xsrf cookie or PLACEHOLDER_AUTH_TOKEN>]``,
   plus the last session id as a third entry when reconnecting (the server
   then resumes that session: same ``st.session_state``).
3. The client sends ``BackMsg.rerun_script`` (a ``ClientState``): the query
   string, every committed widget value (plus the one-shot trigger of a
   clicked button), and either the current page's ``page_script_hash`` or, on
   the first run, the page's URL path as ``page_name``.
4. The server answers with ForwardMsgs: ``new_session`` when a run starts
   (``metadata.run`` says which run and which fragments), ``navigation`` (the
   pages and the current page hash), ``page_info_changed`` (the new query
   string, e.g. after ``st.query_params[...] = ...``), ``delta`` (an element or
   a block at ``metadata.delta_path``), ``auto_rerun`` (a fragment with
   ``run_every``: the *client* must then send fragment reruns on that
   interval), and ``script_finished``. After a successful run the elements the
   run did not send are stale and removed (``clearStaleNodes``).

A user action (a click, a submitted form) is one ``rerun_script`` with that
widget's value; its round trip is timed from sending it to the
``script_finished`` that ends the chain of runs it caused (``st.rerun()`` and
``st.switch_page`` start another run in the same chain), or to the
``session_status_changed`` "not running" that ends it when Streamlit dropped
that ``script_finished`` (it does under load: see ``_on_session_status``;
``chains_without_finish`` counts those). Use
``StreamlitSession`` like this::

    session = StreamlitSession("http://127.0.0.1:8501", "library")
    await session.connect()
    await session.fill_text("Your name or a nickname", "Ada")
    await session.submit_form("Save name")
    await session.click_button("Start Late start")
    await session.set_radio("How do you respond?", 0)
    await session.submit_form("Respond")
    print(session.timings)
    await session.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

XSRF_COOKIE = "_streamlit_xsrf"
NO_AUTH_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the frontend sends when there is no XSRF cookie
ROOT_CONTAINERS = {0: "main", 1: "sidebar", 2: "event", 3: "bottom"}
FINISHED_OK = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
FINISHED_COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")
FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
FINISHED_FRAGMENT = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
TEXT_KINDS = ("markdown", "heading", "alert", "text", "toast", "code", "exception")


class StreamlitError(RuntimeError):
    """The app or the protocol did something this client cannot go on from."""


# -- the element tree ---------------------------------------------------------------------


@dataclass
class Node:
    """One element or block of the page, at its delta path (as the frontend keeps it)."""

    path: tuple[int, ...]
    kind: str  # element type ("markdown", "button", "radio"...) or block type ("vertical", "form"...)
    proto: Any  # the element's own proto (Button, Radio...) or the Block proto
    is_block: bool
    run_id: str
    fragment_id: str
    children: dict[int, Node] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The widget id (``$$ID-...``) that widget states are keyed by; blocks: their id."""
        return getattr(self.proto, "id", "") or ""

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "") or ""

    @property
    def form_id(self) -> str:
        if self.is_block:
            return self.proto.form.form_id if self.kind == "form" else ""
        return getattr(self.proto, "form_id", "") or ""

    @property
    def options(self) -> list[str]:
        return list(getattr(self.proto, "options", []))

    @property
    def disabled(self) -> bool:
        return bool(getattr(self.proto, "disabled", False))

    @property
    def is_widget(self) -> bool:
        return not self.is_block and bool(self.id)

    @property
    def text(self) -> str:
        """What a reader sees: the body of text elements, a metric's label and value, a widget's label."""
        proto = self.proto
        if self.is_block:
            return proto.expandable.label if self.kind == "expandable" else ""
        if self.kind == "metric":
            return f"{proto.label}: {proto.body}"
        if self.kind == "exception":
            return f"{proto.type}: {proto.message}"
        if self.kind in TEXT_KINDS:
            return getattr(proto, "body", "")
        return self.label

    def walk(self) -> Iterator[Node]:
        yield self
        for index in sorted(self.children):
            yield from self.children[index].walk()

    def __repr__(self) -> str:  # short, for assertion messages
        what = self.text or self.id
        return f"<{self.kind} {list(self.path)} {what[:60]!r}>"


@dataclass
class Timing:
    """One round trip: from sending the rerun request to the script_finished that ended it."""

    action: str  # "connect", "click", "submit", "fill", "rerun", "switch_page"...
    label: str
    seconds: float
    first_message: float | None  # seconds until the server's first reply (new_session)
    status: str  # "ok", "compile_error"


def _child_kind(proto: Any, oneof: str) -> tuple[str, Any]:
    kind = proto.WhichOneof(oneof) or ""
    return kind, (getattr(proto, kind) if kind else proto)


def _describe(msg: ForwardMsg, kind: str) -> str:
    run = msg.metadata.run
    where = f"{run.script_run_id[:6]}{'/f' if run.fragment_ids else ''}" if run.script_run_id else ""
    if kind == "script_finished":
        return f"finished:{ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)[9:]}@{where}"
    if kind == "session_status_changed":
        return f"status:{'running' if msg.session_status_changed.script_is_running else 'idle'}"
    if kind == "new_session":
        return f"new_session@{where}"
    return kind


# -- the session --------------------------------------------------------------------------


class StreamlitSession:
    """One browser tab's session with a running Streamlit app, over the WebSocket protocol.

    ``url`` is the app's base URL (``http://127.0.0.1:8501``); ``page_url_path``
    the page's URL path (``"library"``, ``"play"``; ``""`` for the default page);
    ``query_string`` what follows ``?`` in the address (``"code=ABC234"``).

    ``auto_rerun`` (default True) re-runs ``st.fragment(run_every=...)``
    fragments on their interval, as a browser does; a load test without it
    under-states the server's work. ``fetch_page`` also GETs the page's HTML
    on ``connect()``, as a browser does (its static assets are cached).
    """

    def __init__(
        self,
        url: str,
        page_url_path: str = "",
        query_string: str = "",
        *,
        auto_rerun: bool = True,
        fetch_page: bool = True,
        timeout: float = 30.0,
        name: str = "",
    ) -> None:
        self.base_url = url.rstrip("/")
        self.page_url_path = page_url_path.strip("/")
        self.query_string = query_string.lstrip("?")
        self.auto_rerun = auto_rerun
        self.fetch_page = fetch_page
        self.timeout = timeout
        self.name = name
        self.session_id: str | None = None
        self.page_script_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self.roots: dict[int, Node] = {}
        self.timings: list[Timing] = []
        self.messages_received = 0
        self.bytes_received = 0
        self.fragment_runs_sent = 0
        self.last_status: str | None = None
        self.page_not_found: str | None = None
        self.trace: deque[str] = deque(maxlen=30)  # the last messages, for error reports
        # actions whose last run's script_finished Streamlit dropped (see _on_session_status)
        self.chains_without_finish = 0
        self._xsrf: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._auto: dict[str, tuple[float, asyncio.Task]] = {}
        self._widgets: dict[str, WidgetState] = {}  # committed values (sent with every rerun)
        self._pending: dict[str, dict[str, WidgetState]] = {}  # form id -> values not yet submitted
        self._changed = asyncio.Event()
        self._action_lock = asyncio.Lock()
        self._run_id = ""
        self._run_fragments: tuple[str, ...] = ()
        self._full_runs_started = 0  # full (non-fragment) runs seen starting
        self._full_run_open = False  # a chain of full runs has started and not ended
        self._last_finish: int | None = None  # the status of the last script_finished
        self._last_full_finished = 0  # the number of the last full run that ended a chain
        self._first_message_at: float | None = None
        self._closed_error: BaseException | None = None

    # -- connecting -----------------------------------------------------------------------

    @property
    def page_url(self) -> str:
        path = f"{self.base_url}/{self.page_url_path}"
        return f"{path}?{self.query_string}" if self.query_string else path

    @property
    def stream_url(self) -> str:
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urllib.parse.urlunsplit(
            (scheme, parts.netloc, parts.path.rstrip("/") + "/_stcore/stream", "", "")
        )

    def _http_get(self, url: str) -> None:
        request = urllib.request.Request(url, headers={"Cookie": self._cookie_header()} if self._xsrf else {})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=self.timeout) as response:
            response.read()
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookies.load(header)
            if XSRF_COOKIE in cookies:
                self._xsrf = cookies[XSRF_COOKIE].value

    def _cookie_header(self) -> str:
        return f"{XSRF_COOKIE}={self._xsrf}" if self._xsrf else ""

    async def connect(self) -> Timing:
        """Open the page as a browser does and wait for its first run to finish."""
        started = time.perf_counter()
        if self.fetch_page:
            await asyncio.to_thread(self._http_get, self.page_url)
        await asyncio.to_thread(self._http_get, f"{self.base_url}/_stcore/health")
        await self._open_socket(resume=False)
        timing = await self.rerun(action="connect", label=self.page_url_path, _started=started)
        if not self.session_id:
            raise StreamlitError("the server never sent new_session.initialize.session_id")
        return timing

    async def reconnect(self) -> Timing:
        """Drop the WebSocket and open a new one resuming the same server session (as after a network blip)."""
        started = time.perf_counter()
        await self._close_socket()
        await self._open_socket(resume=True)
        return await self.rerun(action="reconnect", label=self.page_url_path, _started=started)

    async def _open_socket(self, resume: bool) -> None:
        tokens = ["streamlit", self._xsrf or NO_AUTH_TOKEN]
        if resume and self.session_id:
            tokens.append(self.session_id)
        headers = {"Cookie": self._cookie_header()} if self._xsrf else {}
        self._ws = await ws_connect(
            self.stream_url,
            subprotocols=tokens,  # type: ignore[arg-type]
            additional_headers=headers,
            origin=self.base_url,  # type: ignore[arg-type]
            max_size=None,
            proxy=None,
            open_timeout=self.timeout,
            ping_interval=None,  # the server pings; websockets answers them on its own
        )
        self._closed_error = None
        self._reader = asyncio.create_task(self._read(self._ws), name=f"st-read-{self.name}")

    async def close(self) -> None:
        await self._close_socket()

    async def _close_socket(self) -> None:
        for _, task in self._auto.values():
            task.cancel()
        self._auto.clear()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        self._ws = None
        self._reader = None
        self._full_run_open = False

    async def __aenter__(self) -> StreamlitSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- receiving ------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                if isinstance(raw, str):
                    raise StreamlitError("the server sent a text frame")
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self.messages_received += 1
                self.bytes_received += len(raw)
                self._handle(msg)
                self._notify()
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # noqa: BLE001 - surfaced to whoever waits
            self._closed_error = error
        else:
            self._closed_error = StreamlitError("the server closed the WebSocket")
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type") or ""
        if kind != "delta":
            self.trace.append(_describe(msg, kind))
        if kind == "new_session":
            self._on_new_session(msg)
        elif kind == "delta":
            self._on_delta(msg)
        elif kind == "script_finished":
            self._on_script_finished(msg)
        elif kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in msg.navigation.app_pages}
            if msg.navigation.page_script_hash:
                self.page_script_hash = msg.navigation.page_script_hash
                self.page_url_path = next(
                    (path for path, h in self.pages.items() if h == self.page_script_hash), self.page_url_path
                )
        elif kind == "session_status_changed":
            self._on_session_status(msg.session_status_changed.script_is_running)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._on_auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self._stop_auto_rerun(fragment_id)
        elif kind == "page_not_found":
            self.page_not_found = msg.page_not_found.page_name or self.page_url_path
        elif kind == "ref_hash":  # only sent for hashes the client says it has cached; we never do
            raise StreamlitError("the server sent a cached-message reference this client never asked for")

    def _on_new_session(self, msg: ForwardMsg) -> None:
        new_session = msg.new_session
        if new_session.initialize.session_id:
            self.session_id = new_session.initialize.session_id
        self._run_id = msg.metadata.run.script_run_id
        self._run_fragments = tuple(msg.metadata.run.fragment_ids)
        if self._first_message_at is None:
            self._first_message_at = time.perf_counter()
        if not self._run_fragments:  # a full run: the frontend drops its fragment timers (cleanupAutoReruns)
            self._full_runs_started += 1
            self._full_run_open = True
            for fragment_id in list(self._auto):
                self._stop_auto_rerun(fragment_id)

    def _on_delta(self, msg: ForwardMsg) -> None:
        path = tuple(msg.metadata.delta_path)
        if not path:
            return
        delta = msg.delta
        what = delta.WhichOneof("type")
        if what == "new_element":
            kind, proto = _child_kind(delta.new_element, "type")
            node = Node(path, kind, proto, False, self._run_id, delta.fragment_id)
        elif what == "add_block":
            kind, _ = _child_kind(delta.add_block, "type")
            node = Node(path, kind or "vertical", delta.add_block, True, self._run_id, delta.fragment_id)
        else:
            return  # new_transient (spinners, toasts' placeholders): nothing a user reads
        parent = self.roots.setdefault(
            path[0], Node(path[:1], ROOT_CONTAINERS.get(path[0], "root"), None, True, "", "")
        )
        for index in path[1:-1]:
            child = parent.children.get(index)
            if child is None:
                child = parent.children[index] = Node(
                    parent.path + (index,), "vertical", None, True, self._run_id, delta.fragment_id
                )
            parent = child
        if len(path) == 1:
            return  # a root container itself
        old = parent.children.get(path[-1])
        if node.is_block and old is not None and old.is_block and old.kind == node.kind:
            node.children = old.children  # the frontend keeps a re-sent block's children
        parent.children[path[-1]] = node

    def _on_script_finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        run = msg.metadata.run
        # as the frontend's clearStaleNodes: a full run's finish prunes what that run did not send
        # (unless a newer run has started meanwhile); a fragment run's, only inside its fragments
        stale_full = status == FINISHED_OK and not run.fragment_ids and run.script_run_id == self._run_id
        if stale_full or status == FINISHED_FRAGMENT:
            self._clear_stale(run.script_run_id or self._run_id, tuple(run.fragment_ids))
        self._last_finish = status
        if status in (FINISHED_OK, FINISHED_COMPILE_ERROR) and not run.fragment_ids:
            self.last_status = "ok" if status == FINISHED_OK else "compile_error"
            self._end_chain()
        # FINISHED_EARLY_FOR_RERUN: st.rerun() or st.switch_page; the chain goes on with another run

    def _on_session_status(self, running: bool) -> None:
        # The session is idle again. Usually right after the chain's script_finished; but when a
        # fragment rerun arrives just as a full run ends, Streamlit starts a new ScriptRunner for
        # it and drops the old runner's events, the full run's script_finished included
        # (app_session.request_rerun's comment on streamlit#9921). The browser then sees only the
        # fragment's finish and this status change, so this is also where a chain may end.
        # The status change that follows FINISHED_EARLY_FOR_RERUN is mid-chain: a run follows.
        if not running and self._last_finish != FINISHED_EARLY:
            if self._full_run_open:
                self.chains_without_finish += 1
                if self.last_status is None:
                    self.last_status = "ok"
            self._end_chain()

    def _end_chain(self) -> None:
        if self._full_run_open:
            self._full_run_open = False
            self._last_full_finished = self._full_runs_started

    def _clear_stale(self, run_id: str, fragment_ids: tuple[str, ...]) -> None:
        def keep(node: Node) -> bool:
            if fragment_ids:
                return node.fragment_id not in fragment_ids or node.run_id == run_id
            return node.run_id == run_id

        def prune(node: Node) -> None:
            for index in list(node.children):
                child = node.children[index]
                if not keep(child):
                    del node.children[index]
                else:
                    prune(child)

        for root in self.roots.values():
            prune(root)
        if not fragment_ids:
            live = {node.id for node in self.nodes() if node.is_widget}
            for widget_id in list(self._widgets):
                if widget_id not in live:
                    del self._widgets[widget_id]
            for form_id in list(self._pending):
                self._pending[form_id] = {k: v for k, v in self._pending[form_id].items() if k in live}

    # -- fragments on a timer (st.fragment(run_every=...)) -----------------------------------

    def _on_auto_rerun(self, fragment_id: str, interval: float) -> None:
        if not self.auto_rerun or not fragment_id:
            return
        current = self._auto.get(fragment_id)
        if current is not None and current[0] == interval:
            return
        self._stop_auto_rerun(fragment_id)
        task = asyncio.create_task(self._auto_loop(fragment_id, interval), name=f"st-auto-{fragment_id}")
        self._auto[fragment_id] = (interval, task)

    def _stop_auto_rerun(self, fragment_id: str) -> None:
        current = self._auto.pop(fragment_id, None)
        if current is not None:
            current[1].cancel()

    async def _auto_loop(self, fragment_id: str, interval: float) -> None:
        while True:  # setInterval: the frontend sends these whether or not a run is going on
            await asyncio.sleep(interval)
            if self._ws is None:
                return
            self.fragment_runs_sent += 1
            with contextlib.suppress(Exception):
                await self._send_rerun([], fragment_id=fragment_id, is_auto_rerun=True)

    # -- sending --------------------------------------------------------------------------

    def _client_state(
        self, triggers: list[WidgetState], fragment_id: str = "", is_auto_rerun: bool = False
    ) -> ClientState:
        state = ClientState(
            query_string=self.query_string,
            page_script_hash=self.page_script_hash,
            # before the first run, the page is named by its URL path, as the frontend does
            page_name="" if self.page_script_hash else self.page_url_path,
            fragment_id=fragment_id,
            is_auto_rerun=is_auto_rerun,
            context_info=ContextInfo(
                timezone="UTC",
                timezone_offset=0,
                locale="en-US",
                url=self.page_url,
                is_embedded=False,
                color_scheme="light",
            ),
        )
        triggered = {t.id for t in triggers}
        state.widget_states.widgets.extend(v for k, v in self._widgets.items() if k not in triggered)
        state.widget_states.widgets.extend(triggers)
        return state

    async def _send_rerun(
        self, triggers: list[WidgetState], fragment_id: str = "", is_auto_rerun: bool = False
    ) -> None:
        if self._ws is None:
            raise StreamlitError("not connected")
        self.trace.append(f">rerun{'(fragment)' if fragment_id else ''}")
        msg = BackMsg(rerun_script=self._client_state(triggers, fragment_id, is_auto_rerun))
        await self._ws.send(msg.SerializeToString())

    async def _wait(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        deadline = time.perf_counter() + (self.timeout if timeout is None else timeout)
        while True:
            if predicate():
                return
            if self._closed_error is not None:
                raise StreamlitError(f"connection lost: {self._closed_error!r}") from self._closed_error
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self.name or 'session'}: condition not met in time on {self.page_url}; "
                    f"last messages: {' | '.join(self.trace)}"
                )
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def rerun(
        self,
        widget_states: list[WidgetState] | None = None,
        *,
        action: str = "rerun",
        label: str = "",
        _started: float | None = None,
    ) -> Timing:
        """Send one rerun request (with these extra widget states, e.g. a trigger) and wait for its run to end.

        Returns (and records in ``timings``) the round trip: from sending until
        the ``script_finished`` that ends the chain of runs this request caused.
        """
        async with self._action_lock:
            # A person acts on a page that is standing still: let a run the server
            # started on its own (a fragment's st.rerun(scope="app")) finish first.
            await self._wait(lambda: not self._full_run_open)
            mark = self._full_runs_started
            self._first_message_at = None
            self.last_status = None
            sent = time.perf_counter()
            await self._send_rerun(widget_states or [])
            await self._wait(lambda: self._last_full_finished > mark)
            done = time.perf_counter()
            first = None if self._first_message_at is None else self._first_message_at - sent
            timing = Timing(action, label, done - (_started or sent), first, self.last_status or "ok")
            self.timings.append(timing)
            if self.last_status == "compile_error":
                raise StreamlitError(f"the page's script did not compile: {self.texts('exception')}")
            return timing

    async def wait_for(
        self, predicate: Callable[[StreamlitSession], bool], timeout: float | None = None
    ) -> float:
        """Wait (through fragment reruns and server-started reruns) until ``predicate(self)``; seconds waited."""
        started = time.perf_counter()
        await self._wait(lambda: predicate(self), timeout)
        return time.perf_counter() - started

    async def switch_page(self, url_path: str, query_string: str | None = None) -> Timing:
        """Go to another page of an ``st.navigation`` app, as clicking it in the menu does."""
        if url_path not in self.pages:
            raise LookupError(f"no page {url_path!r}; pages: {sorted(self.pages)}")
        for fragment_id in list(self._auto):
            self._stop_auto_rerun(fragment_id)
        self.page_script_hash = self.pages[url_path]
        self.page_url_path = url_path
        if query_string is not None:
            self.query_string = query_string.lstrip("?")
        return await self.rerun(action="switch_page", label=url_path)

    # -- reading the page -------------------------------------------------------------------

    def nodes(self, root: int | None = 0) -> list[Node]:
        """Every node in document order (default: the main area; ``None``: every root container)."""
        roots = [self.roots[r] for r in sorted(self.roots)] if root is None else [self.roots.get(root)]
        found: list[Node] = []
        for node in roots:
            if node is not None:
                found.extend(list(node.walk())[1:])
        return found

    def elements(self, kind: str | None = None, root: int | None = 0) -> list[Node]:
        return [n for n in self.nodes(root) if not n.is_block and (kind is None or n.kind == kind)]

    def texts(self, kind: str | None = None) -> list[str]:
        """The visible text of the main area's elements (markdown, headings, alerts, metrics...)."""
        return [n.text for n in self.elements(kind, root=None if kind == "toast" else 0) if n.text]

    @property
    def text(self) -> str:
        return "\n".join(self.texts())

    @property
    def buttons(self) -> list[Node]:
        return self.elements("button")

    @property
    def radios(self) -> list[Node]:
        return self.elements("radio")

    @property
    def text_inputs(self) -> list[Node]:
        return self.elements("text_input")

    def metric(self, label: str) -> str | None:
        for node in self.elements("metric"):
            if node.proto.label == label:
                return node.proto.body
        return None

    def find(self, kind: str, label: str) -> Node:
        """The widget of this kind with this label: exactly, else the only one starting with it."""
        candidates = self.elements(kind, root=None)
        exact = [n for n in candidates if n.label == label]
        if len(exact) == 1:
            return exact[0]
        prefixed = [n for n in candidates if n.label.startswith(label)]
        if len(exact) > 1 or len(prefixed) > 1:
            raise LookupError(f"{self.name}: several {kind} widgets labelled {label!r}: {exact or prefixed}")
        if prefixed:
            return prefixed[0]
        raise LookupError(f"{self.name}: no {kind} labelled {label!r} on {self.page_url}; have {candidates}")

    def find_key(self, key: str) -> Node:
        """The widget created with ``key=key`` (its id is ``$$ID-<hash>-<key>``)."""
        found = [n for n in self.nodes(None) if n.is_widget and n.id.endswith(f"-{key}")]
        if len(found) != 1:
            raise LookupError(f"{self.name}: {len(found)} widgets with key {key!r} on {self.page_url}")
        return found[0]

    def find_by_id(self, widget_id: str) -> Node:
        for node in self.nodes(None):
            if node.is_widget and node.id == widget_id:
                return node
        raise LookupError(f"no widget with id {widget_id!r}")

    def has(self, kind: str, label: str) -> bool:
        try:
            self.find(kind, label)
        except LookupError:
            return False
        return True

    # -- acting on it -------------------------------------------------------------------------

    def _set(self, node: Node, state: WidgetState) -> bool:
        """Keep a widget's new value: pending in its form, else committed. True if it reruns now."""
        if node.disabled:
            raise StreamlitError(f"{node!r} is disabled")
        if node.form_id:
            self._pending.setdefault(node.form_id, {})[node.id] = state
            return False
        self._widgets[node.id] = state
        return True

    async def click_button(self, label: str) -> Timing:
        """Click an ``st.button`` by its label (a form's submit button submits the form)."""
        return await self._click(self.find("button", label))

    async def click_key(self, key: str) -> Timing:
        """Click the ``st.button`` created with ``key=key``."""
        return await self._click(self.find_key(key))

    async def _click(self, node: Node) -> Timing:
        if node.kind != "button":
            raise StreamlitError(f"{node!r} is not a button")
        if node.disabled:
            raise StreamlitError(f"{node!r} is disabled")
        if node.proto.is_form_submitter:
            return await self._submit(node)
        return await self.rerun(
            [WidgetState(id=node.id, trigger_value=True)], action="click", label=node.label
        )

    async def set_radio(self, label: str, option: int | str) -> Timing | None:
        """Pick a radio option by index or by its shown text. In a form, it waits for ``submit_form``."""
        return await self._choose("radio", label, option)

    async def set_selectbox(self, label: str, option: int | str) -> Timing | None:
        return await self._choose("selectbox", label, option)

    async def _choose(self, kind: str, label: str, option: int | str) -> Timing | None:
        node = self.find(kind, label)
        options = node.options
        if isinstance(option, int):
            if not 0 <= option < len(options):
                raise LookupError(f"{node!r} has {len(options)} options, not {option + 1}")
            value = options[option]
        else:
            matches = [o for o in options if o == option] or [o for o in options if o.startswith(option)]
            if len(matches) != 1:
                raise LookupError(f"{node!r}: option {option!r} matches {len(matches)} of {options}")
            value = matches[0]
        # radio and selectbox send the shown (formatted) option string (RadioSerde, value_type string_value)
        if self._set(node, WidgetState(id=node.id, string_value=value)):
            return await self.rerun(action="set", label=f"{label}={value}")
        return None

    async def fill_text(self, label: str, value: str) -> Timing | None:
        """Type into an ``st.text_input`` (committed on Enter/blur: a rerun, unless it is in a form)."""
        node = self.find("text_input", label)
        if self._set(node, WidgetState(id=node.id, string_value=value)):
            return await self.rerun(action="fill", label=label)
        return None

    async def submit_form(self, button_label: str) -> Timing:
        """Press a form's submit button: its widgets' pending values are sent with the button's trigger."""
        return await self._submit(self.find("button", button_label))

    async def _submit(self, node: Node) -> Timing:
        if not node.proto.is_form_submitter:
            raise StreamlitError(f"{node!r} is not a form submit button")
        if node.disabled:
            raise StreamlitError(f"{node!r} is disabled")
        self._widgets.update(self._pending.pop(node.form_id, {}))
        return await self.rerun(
            [WidgetState(id=node.id, trigger_value=True)], action="submit", label=node.label
        )

    # -- figures ------------------------------------------------------------------------------

    def query_params(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.query_string))

    def round_trips(self, action: str | None = None) -> list[float]:
        return [t.seconds for t in self.timings if action is None or t.action == action]
