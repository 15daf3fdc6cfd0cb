"""Stream proxies: the SDK's stream, seen item by item by an observer, and finished exactly once — at its
end, on an error, on ``close()`` / ``with`` exit, or when it is garbage-collected unfinished.

A proxy is a ``wrapt.ObjectProxy``: iteration, ``with``, ``close()``, ``isinstance`` and every attribute behave
as the SDK's own stream; the request is sent when the SDK sends it (the proxy wraps, it does not rebuild). One
item loop per direction (sync, async) serves every proxy; each step runs as part of the call (``CURRENT_CALL``).
A stream that is a plain generator holds no attribute: its proxy (``GeneratorProxy``) holds the impacts.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TYPE_CHECKING, Any

import wrapt

from genai_footprint._instrument._guard import CURRENT_CALL, attach, internal_error

if TYPE_CHECKING:
    from genai_footprint._impacts import Impacts
    from genai_footprint._instrument._runtime import Runtime
    from genai_footprint._instrument._spec import Call, Observation, StreamObserver

    ObjectProxy = wrapt.ObjectProxy[Any]
else:  # subscripting needs wrapt >= 2 at run time
    ObjectProxy = wrapt.ObjectProxy


def injected_usage_chunk(call: Call, item: Any) -> bool:
    """The usage-only chunk we asked for on the caller's behalf (hidden from them, even if we fail)."""
    try:
        return bool(call.injected_stream_usage and not item.choices and item.usage is not None)
    except Exception:
        return False


class FailedObserver:
    """Stands in when a stream's observer could not be made: hides what we injected, estimates nothing."""

    def __init__(self, call: Call) -> None:
        self.call = call

    def on_item(self, item: Any) -> bool:
        return not injected_usage_chunk(self.call, item)

    def result(self) -> Observation:
        raise RuntimeError("no observation: the stream observer could not be created")


class StreamProxy(ObjectProxy):
    """What both proxies share: the observer's view of each item, and the one finish."""

    def __init__(self, wrapped: Any, runtime: Runtime, call: Call, observer: StreamObserver) -> None:
        super().__init__(wrapped)
        self._self_runtime = runtime
        self._self_call = call
        self._self_observer = observer
        self._self_items: Any = None  # the one (async) generator of this stream
        self._self_first_item_at: float | None = None
        self._self_done = False
        self._self_lock = threading.Lock()  # the stream may end in one thread while another closes it

    def _self_shown(self, item: Any) -> bool:
        """Whether the caller gets ``item``, once the observer saw it (if it fails, only our usage chunk is hidden)."""
        if self._self_first_item_at is None:
            self._self_first_item_at = time.perf_counter()
        try:
            return self._self_observer.on_item(item)
        except Exception:
            internal_error("stream item")
            return not injected_usage_chunk(self._self_call, item)

    def _self_started(self) -> None:
        """Iteration begins: the clock of a call whose request goes out only now starts now."""
        if self._self_call.sent_when_iterated:
            self._self_call.start = time.perf_counter()

    def _self_claim(self) -> bool:
        """True for the one caller that finishes the stream (whichever way it ends first)."""
        with self._self_lock:
            if self._self_done:
                return False
            self._self_done = True
            return True

    def _self_finish(self, ended_early: bool) -> None:
        if not self._self_claim():
            return
        end = time.perf_counter()
        impacts = None
        try:
            observation = self._self_observer.result()
            impacts = self._self_runtime.finish(
                self._self_call, observation, end, self._self_first_item_at, ended_early
            )
        except Exception:
            internal_error("stream finish")
        attach(self.__wrapped__, impacts)
        self._self_finished(impacts)

    def _self_finished(self, impacts: Impacts | None) -> None:
        """Called once the stream's impacts are known (a helper's proxy passes them on)."""

    def __del__(self) -> None:
        if not self._self_done:
            self._self_finish(ended_early=True)

    def __reduce_ex__(self, protocol: Any) -> Any:  # a stream cannot be pickled; neither can its proxy
        raise TypeError(f"cannot pickle {type(self.__wrapped__).__name__!r} object")


class ClosingProxy(StreamProxy):
    """A sync stream (or body) whose ``close()`` is the SDK object's own, and finishes the call."""

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_finish(ended_early=True)


class IterableStreamProxy(ClosingProxy):
    """A sync SDK stream that is iterable (``for``) and closable, but no iterator nor context manager itself
    (botocore's ``EventStream``): the proxy offers exactly that."""

    def __iter__(self) -> Iterator[Any]:
        if self._self_items is None:
            self._self_started()
            self._self_items = self._self_sync_items()
        return self._self_items  # type: ignore[no-any-return]

    def _self_sync_items(self) -> Iterator[Any]:
        """The one item loop of sync streams. Each step runs as part of the call (``CURRENT_CALL``): an SDK call
        made while the stream is advanced (LiteLLM sends its request on the first ``next()``) is not counted again."""
        try:
            items = iter(self.__wrapped__)
            while True:
                token = CURRENT_CALL.set(self._self_call)
                try:
                    item = next(items)
                except StopIteration:
                    break
                finally:
                    CURRENT_CALL.reset(token)
                if self._self_shown(item):
                    yield item
        except GeneratorExit:  # closed or collected: close() or __del__ finishes the call
            raise
        except BaseException:
            self._self_finish(ended_early=True)
            raise
        self._self_finish(ended_early=False)


class SyncStreamProxy(IterableStreamProxy):
    """A sync SDK stream; ``for``, ``next()``, ``with`` and ``close()`` behave as the SDK's."""

    def __next__(self) -> Any:
        return next(self.__iter__())

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_finish(ended_early=True)


class AsyncStreamProxy(StreamProxy):
    """An async SDK stream; ``async for``, ``anext()``, ``async with`` and ``await close()`` behave as the SDK's."""

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._self_items is None:
            self._self_started()
            self._self_items = self._self_async_items()
        return self._self_items  # type: ignore[no-any-return]

    def __anext__(self) -> Awaitable[Any]:
        return self.__aiter__().__anext__()

    async def _self_async_items(self) -> AsyncIterator[Any]:
        """The one item loop of async streams; each step runs as part of the call, as in the sync loop."""
        try:
            items = self.__wrapped__.__aiter__()
            while True:
                token = CURRENT_CALL.set(self._self_call)
                try:
                    item = await items.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    CURRENT_CALL.reset(token)
                if self._self_shown(item):
                    yield item
        except GeneratorExit:
            raise
        except BaseException:
            self._self_finish(ended_early=True)
            raise
        self._self_finish(ended_early=False)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_finish(ended_early=True)

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_finish(ended_early=True)


class AsyncStreamProxyWithAclose(AsyncStreamProxy):
    """For SDK streams that also have ``aclose()`` (the proxy offers exactly what the stream offers)."""

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_finish(ended_early=True)


class GeneratorProxy(StreamProxy):
    """A stream that is a plain generator (Google's ``generate_content_stream``, Hugging Face's streams, Cohere's
    ``chat_stream``), which holds no attribute: its proxy holds ``impacts`` (None until the stream ends), and the
    last item the observer kept (its ``last``, if it keeps one) gets them too."""

    _self_impacts: Impacts | None = None

    @property
    def impacts(self) -> Impacts | None:
        return self._self_impacts

    def _self_finished(self, impacts: Impacts | None) -> None:
        self._self_impacts = impacts
        try:
            last = getattr(self._self_observer, "last", None)
        except Exception:  # an observer of another shape: the proxy still carries the impacts
            internal_error("generator's last item")
            return
        if last is not None:
            attach(last, impacts)


class SyncGeneratorProxy(GeneratorProxy, SyncStreamProxy):
    """A generator, as the caller iterates it."""


class AsyncGeneratorProxy(GeneratorProxy, AsyncStreamProxyWithAclose):
    """An async generator (``async for``, ``aclose()``)."""


def stream_proxy_type(stream: Any) -> type[StreamProxy]:
    """The proxy class for ``stream``: a generator's (which holds the impacts), else async or sync, with
    ``aclose()`` where the stream has one."""
    if inspect.isasyncgen(stream):
        return AsyncGeneratorProxy
    if inspect.isgenerator(stream):
        return SyncGeneratorProxy
    if hasattr(stream, "__anext__") or hasattr(stream, "__aiter__"):
        return AsyncStreamProxyWithAclose if hasattr(type(stream), "aclose") else AsyncStreamProxy
    return SyncStreamProxy
