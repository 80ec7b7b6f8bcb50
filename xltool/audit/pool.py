"""The audit's worker processes: a pool started when first needed, and tasks mapped over it.

Used by the audit round (xltool.audit.run) and by the mail intake, which checks a message's
files with the same workers before any round takes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice

from xltool.audit.worker import init_worker, warm_up


def batches(tasks: Iterable[tuple], size: int) -> Iterator[tuple[list[tuple]]]:
    """(a list of up to *size* tasks,) at a time: the arguments of one ``check_files`` call."""
    queue = iter(tasks)
    while batch := list(islice(queue, size)):
        yield (batch,)


def map_unordered(fn: Callable, tasks: Iterable[tuple], pool: ProcessPoolExecutor | None,
                   on_result: Callable[[tuple, object], None], in_flight: int = 16) -> None:
    """Run fn(*task) for every task, in *pool* when given (else here); results in completion order.

    At most *in_flight* tasks are queued at a time, so thousands of files never pile up in
    memory and an interruption stops promptly.
    """
    if pool is None:
        for task in tasks:
            on_result(task, fn(*task))
        return
    pending: dict[Future, tuple] = {}
    queue = iter(tasks)
    limit = max(1, in_flight)
    for task in queue:
        pending[pool.submit(fn, *task)] = task
        if len(pending) >= limit:
            break
    while pending:
        done, _rest = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            on_result(task, future.result())
            nxt = next(queue, None)
            if nxt is not None:
                pending[pool.submit(fn, *nxt)] = nxt


class Workers:
    """The worker pool of a round, started when first needed (never for a single task)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None
        self._started: Future | None = None  # the first task, which starts every worker

    @property
    def in_flight(self) -> int:
        return 8 * self.jobs

    def get(self, tasks: int) -> ProcessPoolExecutor | None:
        if self.jobs <= 1 or tasks <= 1:
            return self.pool
        if self.pool is None:
            self.start()
            self._started.result()  # type: ignore[union-attr]  # every worker is up before any thread starts
        return self.pool

    def start(self, warm: tuple[str, str | None] | None = None) -> None:
        """Start the workers now (warming them up on the workbook *warm* names), without waiting."""
        if self.jobs <= 1 or self.pool is not None:
            return
        # Loaded once here rather than in every worker: the per-unit output writers (openpyxl
        # among them) and the summary, which this process needs at the end anyway.
        import multiprocessing

        import xltool.audit.issuelist  # noqa: F401
        import xltool.audit.marking  # noqa: F401
        import xltool.audit.summary  # noqa: F401

        if warm is not None and multiprocessing.get_start_method() == "fork":
            # Forked workers inherit what this process holds: warm up once here (the checks
            # loaded, the form built, its rules compiled, the issue list's prototype made)
            # instead of once in every worker.
            warm_up(*warm)
            warm = None
        # The platform's default start method (fork on Linux: workers inherit the loaded
        # modules). A first task starts every worker now, before any progress-bar thread.
        self.pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=init_worker, initargs=(os.getpid(), warm))
        self._started = self.pool.submit(os.getpid)

    def stop(self, *, interrupted: bool) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        if interrupted:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list((getattr(pool, "_processes", None) or {}).values()):  # do not wait for running checks
                process.terminate()
        else:
            pool.shutdown(wait=True)
