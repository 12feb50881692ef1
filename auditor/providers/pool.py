"""The thread pool every provider's collectors share for one scan.

:class:`TaskPool`: one thread pool for a whole scan with fair, work-conserving scheduling across
(service, region) lanes. :class:`TaskGroup`: one part of a scan (an AWS account of an organisation)
submitting into a shared pool under its own lanes and waiting for its own tasks only.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from auditor.progress import Lane, NoProgress, Progress

Task = Callable[[], None]

DEFAULT_LANE_LIMIT = 8


class TaskPool:
    """One ``ThreadPoolExecutor`` for a scan; tasks may submit further tasks.

    At most ``max_workers`` tasks run at once. When a worker frees up, the next task is taken
    round-robin from the lanes that have work waiting, preferring lanes running fewer than
    ``lane_limit`` tasks, so one region (or IAM) with thousands of describes cannot starve the
    others. The bound is soft: when only one lane has work it may use every worker, so a single
    region scan is not slowed down. Every submitted task counts one progress unit; a lane that runs
    out of work (nothing queued, nothing running) is reported with the tasks it has run, and again
    if a task elsewhere gives it more work later.

    A task must handle its own expected errors; an exception escaping a task is a bug and is
    re-raised by :meth:`wait` after the pool has drained.
    """

    def __init__(self, max_workers: int, progress: Progress | None = None,
                 lane_limit: int = DEFAULT_LANE_LIMIT) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._lane_limit = max(1, lane_limit)
        self._progress = progress or NoProgress()
        self._progress_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="auditor")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued: dict[Lane, deque[Task]] = {}
        self._ring: deque[Lane] = deque()  # lanes with queued tasks, in round-robin order
        self._running: dict[Lane, int] = {}
        self._lane_calls: dict[Lane, int] = {}
        self._in_flight = 0
        self._outstanding = 0  # queued + running
        self._errors: list[BaseException] = []
        self._closed = False

    def submit(self, lane: Lane, task: Task) -> None:
        self.submit_many(lane, (task,))

    def submit_many(self, lane: Lane, tasks: Iterable[Task]) -> None:
        batch = list(tasks)
        if not batch:
            return
        with self._progress_lock:
            self._progress.add_total(len(batch))
        with self._lock:
            if self._closed:
                raise RuntimeError("TaskPool is closed")
            queue = self._queued.get(lane)
            if queue is None:
                queue = self._queued[lane] = deque()
            opened = not queue and not self._running.get(lane)
            if not queue:
                self._ring.append(lane)
            queue.extend(batch)
            self._outstanding += len(batch)
            self._dispatch_locked()
        if opened:
            with self._progress_lock:
                self._progress.lane_open(lane)

    def wait(self) -> None:
        """Block until every task (including tasks submitted by tasks) has finished."""
        try:
            with self._lock:
                while self._outstanding:
                    self._idle.wait()
                self._closed = True
        finally:
            self.shutdown()
        if self._errors:
            raise self._errors[0]

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._queued.clear()
            self._ring.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _dispatch_locked(self) -> None:
        while self._in_flight < self._max_workers and self._ring:
            lane = self._pick_lane_locked()
            queue = self._queued[lane]
            task = queue.popleft()
            if not queue:
                self._ring.remove(lane)
            self._running[lane] = self._running.get(lane, 0) + 1
            self._in_flight += 1
            self._executor.submit(self._run, lane, task)

    def _pick_lane_locked(self) -> Lane:
        for _ in range(len(self._ring)):
            lane = self._ring[0]
            self._ring.rotate(-1)
            if self._running.get(lane, 0) < self._lane_limit:
                return lane
        # Every lane with work is at its soft limit: stay work-conserving.
        lane = self._ring[0]
        self._ring.rotate(-1)
        return lane

    def _run(self, lane: Lane, task: Task) -> None:
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 - a bug in a task; re-raised by wait()
            with self._lock:
                self._errors.append(exc)
        finally:
            with self._progress_lock:
                self._progress.advance(1)
            with self._lock:
                self._running[lane] -= 1
                self._in_flight -= 1
                self._outstanding -= 1
                calls = self._lane_calls[lane] = self._lane_calls.get(lane, 0) + 1
                drained = not self._running[lane] and not self._queued.get(lane)
                if not self._closed:
                    self._dispatch_locked()
                if drained:
                    # Reported before wait() can return, so the last lane's line precedes the summary.
                    with self._progress_lock:
                        self._progress.lane_done(lane, calls)
                if self._outstanding == 0:
                    self._idle.notify_all()


class TaskGroup(TaskPool):
    """The tasks of one part of a scan (one account of an organisation) in a shared :class:`TaskPool`.

    A collector written for a pool of its own takes a group unchanged: :meth:`submit_many` queues into the
    shared pool under the lane ``(service, "<name>/<region>")``, so every account and region is a lane of
    its own and the pool's round-robin keeps one large account from starving the others; :meth:`wait`
    blocks until this group's tasks (and the tasks they submit) have finished, then re-raises the first
    exception one of them raised, leaving the shared pool open for the other groups. The shared pool's
    owner calls its ``wait`` once every group is done.

    Only the scheduling state of the shared pool is used: the attributes of :class:`TaskPool` are not set.
    """

    def __init__(self, pool: TaskPool, name: str) -> None:
        # Deliberately no super().__init__(): a group owns no executor, it delegates to ``pool``.
        self._pool = pool
        self._name = name
        self._group_lock = threading.Lock()
        self._done = threading.Condition(self._group_lock)
        self._pending = 0
        self._failures: list[BaseException] = []

    @property
    def name(self) -> str:
        return self._name

    def submit_many(self, lane: Lane, tasks: Iterable[Task]) -> None:
        batch = [self._tracked(task) for task in tasks]
        if not batch:
            return
        with self._group_lock:
            self._pending += len(batch)
        try:
            self._pool.submit_many((lane[0], f"{self._name}/{lane[1]}"), batch)
        except BaseException:
            with self._group_lock:
                self._pending -= len(batch)
                self._done.notify_all()
            raise

    def wait(self) -> None:
        """Block until every task of this group has finished; the shared pool stays open."""
        with self._group_lock:
            while self._pending:
                self._done.wait()
            failures = list(self._failures)
        if failures:
            raise failures[0]

    def shutdown(self) -> None:
        """A group does not own the shared pool: nothing to shut down."""

    def _tracked(self, task: Task) -> Task:
        def run() -> None:
            try:
                task()
            except BaseException as exc:  # noqa: BLE001 - a bug in a task; re-raised by wait()
                with self._group_lock:
                    self._failures.append(exc)
            finally:
                with self._group_lock:
                    self._pending -= 1
                    if not self._pending:
                        self._done.notify_all()

        return run
