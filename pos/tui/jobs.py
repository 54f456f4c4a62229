"""Background work for the UI, with one rule for failures: a failed worker never ends the shift.

:func:`work` is Textual's ``@work`` with ``exit_on_error=False``, and with the decorated function
wrapped so that an unexpected exception is handed to the app's single handler
(``PosApp.worker_failed``): it writes the traceback to the UI's log file, tells the person in plain
words and leaves the counter usable. Every worker in ``pos.tui`` is declared with this decorator (a
test checks that none uses Textual's directly).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any

from textual import work as textual_work
from textual.worker import WorkerCancelled


def _report(node: Any, what: str, exc: BaseException, *, thread: bool) -> None:
    app = node.app
    handler = getattr(app, "worker_failed", None)
    if handler is None:
        raise exc
    if not thread:
        handler(what, exc)
        return
    try:
        app.call_from_thread(handler, what, exc)
    except RuntimeError:  # the app has already stopped: nothing left on screen to tell
        pass


def work(method: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``@work`` / ``@work(thread=True, group=…, exclusive=…)`` whose failures go to the app's handler."""
    options.setdefault("exit_on_error", False)

    def decorate(fn: Callable[..., Any]) -> Any:
        what = options.get("description") or fn.__name__
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def guarded_async(node: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(node, *args, **kwargs)
                except (asyncio.CancelledError, WorkerCancelled):
                    raise
                except Exception as exc:
                    _report(node, what, exc, thread=False)
                    return None
            return textual_work(guarded_async, **options)

        @functools.wraps(fn)
        def guarded(node: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(node, *args, **kwargs)
            except WorkerCancelled:
                raise
            except Exception as exc:
                _report(node, what, exc, thread=options.get("thread", False))
                return None
        return textual_work(guarded, **options)

    return decorate(method) if method is not None else decorate
