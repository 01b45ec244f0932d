"""What every kk widget shares: live or static rendering, and watch threads that stop cleanly.

A :class:`KKWidget` decides once, when created, whether a widget frontend is
listening (:func:`kk_helpers.reprs.live_frontend`). Live, it shows ipywidgets
and may start :class:`WatchLoop` threads; static (nbconvert, nbgrader, plain
Python, ``KK_STATIC=1``), it renders an HTML/text snapshot and starts no thread.
Its ipywidgets controls exist in both modes, so a test (or a script) can drive
it from Python: set ``slider.value``, call ``button.click()``.

A :class:`WatchLoop` is list+watch of one collection in a daemon thread: it
waits on the stream (``timeout_seconds`` bounds each watch; no busy loop),
re-lists on 410 Expired, backs off on errors, and stops when its
``threading.Event`` is set — :meth:`KKWidget.close`, the frontend closing the
widget, or interpreter exit (``atexit``) — shutting the socket so a blocked
read returns at once.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .. import reprs
from ..connect import Cluster

log = logging.getLogger("kk.widgets")

Obj = dict[str, Any]

#: Seconds each watch request lasts before it is renewed.
WATCH_SECONDS = 30
#: Seconds to wait after a failed list or watch.
BACKOFF_SECONDS = 2.0

_LIVE: weakref.WeakSet[KKWidget] = weakref.WeakSet()


class WatchLoop:
    """List, then watch, one collection in a daemon thread.

    Args:
        cluster: where to watch.
        list_fn: an official-client list method (``cluster.core.list_namespaced_pod``).
        args: its positional arguments (the namespace).
        kwargs: its keyword arguments (``field_selector=...``).
        on_sync: called with every object after each (re-)list.
        on_event: called with ``(type, object)`` for ADDED/MODIFIED/DELETED.
        stop: set it to stop the loop.
        name: thread name.
    """

    def __init__(self, cluster: Cluster, list_fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                 on_sync: Callable[[list[Obj]], None], on_event: Callable[[str, Obj], None],
                 stop: threading.Event, name: str = "kk-watch") -> None:
        self.cluster = cluster
        self.list_fn = list_fn
        self.args = args
        self.kwargs = kwargs
        self.on_sync = on_sync
        self.on_event = on_event
        self.stop_event = stop
        self.events = 0
        self._resp: Any = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> WatchLoop:
        """Start the thread."""
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Is the thread running?"""
        return self._thread.is_alive()

    def stop(self, join: float = 2.0) -> None:
        """Stop: set the event, shut the open stream, wait up to ``join`` seconds for the thread."""
        self.stop_event.set()
        resp = self._resp
        if resp is not None:
            for method in ("shutdown", "close"):
                try:
                    getattr(resp, method)()
                except Exception:  # already closed, or from another thread mid-read
                    pass
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(join)

    def _list(self) -> str:
        data = self.cluster.call(self.list_fn, *self.args, **self.kwargs) or {}
        self.on_sync(list(data.get("items") or []))
        return str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, rv: str) -> str | None:
        """One watch request; returns the resourceVersion to continue from, or None to re-list."""
        from kubernetes.watch.watch import iter_resp_lines

        resp = self.list_fn(*self.args, watch=True, resource_version=rv, timeout_seconds=WATCH_SECONDS,
                            allow_watch_bookmarks=True, _preload_content=False,
                            _request_timeout=(5, WATCH_SECONDS + 10), **self.kwargs)
        self._resp = resp
        try:
            if self.stop_event.is_set():  # stop() ran before the stream existed: it could not shut it
                return rv
            for line in iter_resp_lines(resp):
                if self.stop_event.is_set():
                    return rv
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    return None  # 410 Expired or another error: re-list
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self.events += 1
                    self.on_event(kind, obj)
        finally:
            self._resp = None
            try:
                resp.release_conn()
            except Exception:  # already shut by stop()
                pass
        return rv

    def _run(self) -> None:
        rv: str | None = None
        while not self.stop_event.is_set():
            try:
                if rv is None:
                    rv = self._list()
                rv = self._watch(rv)
            except Exception as err:  # cluster gone, stream cut by stop(), callback error
                if self.stop_event.is_set():
                    return
                log.debug("watch %s failed: %s", self._thread.name, err)
                rv = None
                self.stop_event.wait(BACKOFF_SECONDS)


class KKWidget:
    """Base of the kk widgets: live ipywidgets or a static snapshot, and clean shutdown.

    Args:
        live: force live widgets (True) or the static snapshot (False); default: detect a frontend.
    """

    def __init__(self, *, live: bool | None = None) -> None:
        self.live = reprs.live_frontend() if live is None else live
        self._stop = threading.Event()
        self._watches: list[WatchLoop] = []
        self._lock = threading.RLock()
        self.root: Any = None  # the ipywidgets container shown when live
        self.view: Any = None  # an ipywidgets HTML that redraw() refreshes, for views drawn as HTML
        self._frontend_hooked = False

    # -- subclasses ----------------------------------------------------------------------------

    def render_html(self) -> str:
        """The current state as HTML (the static snapshot, and the live view's content)."""
        raise NotImplementedError

    def render_text(self) -> str:
        """The current state as plain text."""
        raise NotImplementedError

    # -- threads -------------------------------------------------------------------------------

    def watch(self, cluster: Cluster, list_fn: Any, *args: Any, into: str | None = None,
              on_sync: Callable[[list[Obj]], None] | None = None, on_event: Callable[[str, Obj], None] | None = None,
              name: str = "kk-watch", **kwargs: Any) -> WatchLoop | None:
        """Start a :class:`WatchLoop` tied to this widget — only when live.

        Args:
            cluster: where to watch.
            list_fn: an official-client list method.
            *args: its positional arguments.
            into: keep ``self.<into>`` (name -> object) in step with the collection and redraw on changes;
                or give ``on_sync``/``on_event`` callbacks instead.
            on_sync: called with every object after each (re-)list.
            on_event: called with ``(type, object)`` per change.
            name: thread name.
            **kwargs: keyword arguments of ``list_fn`` (``field_selector=...``).
        """
        if not self.live or self._stop.is_set():
            return None
        if into is not None:
            on_sync, on_event = self._mirror(into)
        assert on_sync is not None and on_event is not None
        loop = WatchLoop(cluster, list_fn, args, kwargs, on_sync=on_sync, on_event=on_event, stop=self._stop,
                         name=name)
        self._watches.append(loop)
        _LIVE.add(self)
        return loop.start()

    def _mirror(self, attr: str) -> tuple[Callable[[list[Obj]], None], Callable[[str, Obj], None]]:
        """Watch callbacks keeping ``self.<attr>`` (name -> object) in step with a collection, then redrawing."""
        def on_sync(items: list[Obj]) -> None:
            with self._lock:
                setattr(self, attr, {reprs.name_of(o): o for o in items})
            self.redraw()

        def on_event(kind: str, obj: Obj) -> None:
            with self._lock:
                table = getattr(self, attr)
                if kind == "DELETED":
                    table.pop(reprs.name_of(obj), None)
                else:
                    table[reprs.name_of(obj)] = obj
            self.redraw()

        return on_sync, on_event

    def redraw(self) -> None:
        """Show the current state in the live view (``self.view``, an ipywidgets HTML): rendered *and sent* under the lock.

        Several watch threads redraw one view, often at the same moment (a rollout, a scale-up). Sending outside
        the lock would let a thread that rendered an older state send it after a newer one, and the page would
        then show that older state until the next change — after the last change, for good.
        """
        view = self.view
        if view is not None:
            with self._lock:
                view.value = self.render_html()

    def run_in_background(self, fn: Callable[[], Any], name: str = "kk-action") -> threading.Thread:
        """Run ``fn`` in a daemon thread (button actions, so the kernel stays responsive)."""
        def target() -> None:
            try:
                fn()
            except Exception as err:  # shown in the widget, never on stderr
                self.show_error(err)

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    def show_error(self, err: BaseException) -> None:
        """Show an error inside the widget (subclasses override)."""
        log.debug("widget action failed: %s", err)

    @property
    def threads_alive(self) -> int:
        """How many watch threads still run."""
        return sum(1 for w in self._watches if w.alive)

    def _close_with_frontend(self) -> None:
        if self._frontend_hooked:
            return
        self._frontend_hooked = True
        comm = getattr(self.root, "comm", None)
        if comm is not None and hasattr(comm, "on_close"):
            ref = weakref.ref(self)

            def closed(msg: Any) -> None:
                me = ref()
                if me is not None:
                    me.close()

            try:
                comm.on_close(closed)
            except Exception:  # a dummy comm (no kernel)
                pass

    def close(self) -> None:
        """Stop every watch thread and close the ipywidgets."""
        self._stop.set()
        for w in self._watches:
            w.stop()
        if self.root is not None:
            try:
                for child in getattr(self.root, "children", ()):
                    child.close()
                self.root.close()
            except Exception:  # already closed
                pass

    def __enter__(self) -> KKWidget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {"text/plain": self.render_text(), "text/html": self.render_html()}
        if self.live and self.root is not None:
            bundle = self.root._repr_mimebundle_()
            view = bundle.get("application/vnd.jupyter.widget-view+json")
            if view:
                data["application/vnd.jupyter.widget-view+json"] = view
            self._close_with_frontend()
        return data

    def __repr__(self) -> str:
        with self._lock:
            return self.render_text()


def _stop_all() -> None:
    for widget in list(_LIVE):
        try:
            widget.close()
        except Exception:  # interpreter shutting down
            pass


atexit.register(_stop_all)
