"""Where a round's end runs: a worker thread, and the analysis in a separate process.

The end of a round goes off the loop: a worker thread gathers the results, has the debrief
analysed in a separate process (a `ProcessPoolExecutor` started lazily with the "forkserver"
or "spawn" method — never a plain fork of this threaded process — so that seconds of
analysis do not hold this process's GIL while other rooms tick), saves the round, and only
then hands the payload back to the room on the loop (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from server.round import (
    AnalysisRequest,
    analyse_packed,
    analyse_request,
    optional_module,
    pack_request,
)

log = logging.getLogger(__name__)


def default_analysis_workers() -> int:
    """Processes for debrief analysis: one core is left for the ticking process."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _analysis_worker_init(server_pid: int | None = None) -> None:
    """In each analysis process: Ctrl-C is the server's business (it stops the pool), the
    process never writes on the terminal (a host's TUI may be drawing there; its failures
    come back to the server as exceptions and are logged there), it ends when the server
    is gone (`exit_with`), and the analysis modules are imported before the first round
    needs them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    if server_pid is not None:
        threading.Thread(target=exit_with, args=(server_pid,), daemon=True).start()
    optional_module("server.debrief")


def exit_with(pid: int, every: float = 1.0) -> None:
    """End this process once process `pid` is gone (a thread's loop; never returns).

    A server killed outright (kill -9, the out-of-memory killer) cannot stop its analysis
    pool, and a pool's process waits for its next job for ever: it holds both ends of its
    job queue, so it never sees the server go. Without this, every such kill would leave an
    idle analysis process (and multiprocessing's forkserver, which lives as long as its
    children) behind until the machine restarts.
    """
    while True:
        time.sleep(every)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the number now belongs to another user's process
            os._exit(0)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr.

    The tracker hands `sys.stderr.fileno()` to its process; inside a Textual app (the host's
    embedded server) sys.stderr is a capture whose fileno is -1, and starting processes fails
    with "bad value(s) in fds_to_keep". The real stderr is put back only while the tracker
    starts; once it runs, the pool's processes start without asking for stderr again.
    """
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = True  # the tracker copes with a stderr that has no fileno at all
    if usable or sys.__stderr__ is None:
        resource_tracker.ensure_running()
        return
    with contextlib.redirect_stderr(sys.__stderr__):
        resource_tracker.ensure_running()


def analysis_context() -> Any:
    """A multiprocessing context safe to use from a process that has threads."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_on(
    executor: Any,
    loop: asyncio.AbstractEventLoop,
    job: Callable[[], Any],
    done: Callable[[Any, BaseException | None], None],
) -> None:
    """Run `job` on `executor`; `done(result, exc)` comes back on `loop` (never if the server
    stopped before the job ran, or after the loop closed; at once if the executor is shut)."""

    def finished(future: Any) -> None:
        if future.cancelled():
            return  # the server stopped before this job ran
        exc = future.exception()
        result = None if exc is not None else future.result()
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(done, result, exc)

    try:
        executor.submit(job).add_done_callback(finished)
    except RuntimeError as exc:  # shutting down
        done(None, exc)


class Analyses:
    """The worker threads and analysis processes of one server, and what they did.

    `workers`: analysis processes (None: cores − 1, at least one; 0: analyse on the worker
    thread, in this process). `ran` counts where each analysis ran: "process", or "thread" (no
    pool, or a fallback); `waiting` the rounds handed to `offload` and not yet back.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_analysis_workers() if workers is None else max(0, workers)
        # a worker thread per analysis process: each waits (without the GIL) for its result
        self._threads = ThreadPoolExecutor(
            max_workers=max(1, self.workers), thread_name_prefix="interlane-debrief"
        )
        self.pool: ProcessPoolExecutor | None = None
        self._pool_failed = False
        self._pool_lock = threading.Lock()
        self._stopping = False
        self.ran: dict[str, int] = {"process": 0, "thread": 0}
        self.waiting = 0

    def offload(
        self,
        loop: asyncio.AbstractEventLoop,
        job: Callable[[], Any],
        done: Callable[[Any, BaseException | None], None],
    ) -> None:
        """Run slow end-of-round work on a worker thread; `done` comes back on `loop`."""

        def back(result: Any, exc: BaseException | None) -> None:
            self.waiting -= 1
            done(result, exc)

        self.waiting += 1
        run_on(self._threads, loop, job, back)

    def _analysis_pool(self) -> ProcessPoolExecutor | None:
        """The analysis processes, started on first use; None once the server stops."""
        with self._pool_lock:
            if self.pool is None and not self._stopping and not self._pool_failed:
                _start_resource_tracker()
                self.pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=analysis_context(),
                    initializer=_analysis_worker_init,
                    initargs=(os.getpid(),),
                )
            return self.pool

    def _give_up_pool(self) -> None:
        """No more analysis processes for this server: every later round uses a thread."""
        with self._pool_lock:
            self._pool_failed = True
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _drop_pool(self, pool: ProcessPoolExecutor | None) -> None:
        if pool is None:
            return
        with self._pool_lock:
            if self.pool is pool:
                self.pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def analyse(self, request: AnalysisRequest) -> dict[str, Any]:
        """A round's debrief analysis (called on a worker thread).

        The request is pickled here (compactly: see round.pack_request) and analysed in an
        analysis process while this thread waits. When the inputs cannot be pickled, or the
        pool is unavailable or broke (a process killed), the analysis runs here on the thread
        instead, and the log says so.
        """
        if self.workers > 0:
            try:
                data = pack_request(request)
            except Exception as exc:
                log.warning("round inputs cannot go to a process (%r): analysing on a thread", exc)
            else:
                if self._stopping:
                    raise RuntimeError("the server is stopping")
                try:
                    pool = self._analysis_pool()
                    future = pool.submit(analyse_packed, data) if pool is not None else None
                except Exception as exc:  # processes cannot start here: stay on threads
                    log.warning("analysis processes cannot start (%r): analysing on threads", exc)
                    self._give_up_pool()
                    future = None
                if future is not None:
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        log.warning("the analysis process failed (%r): analysing on a thread", exc)
                        self._drop_pool(pool)
                    else:
                        self.ran["process"] += 1
                        return result
        self.ran["thread"] += 1
        return analyse_request(request)

    def stop(self) -> None:
        """No more analyses: queued ones are cancelled; one already running finishes in its
        process."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._pool_lock:
            self._stopping = True
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
