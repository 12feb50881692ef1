"""TaskGroup: one account's share of a scan's TaskPool (fair lanes per account and region, waits for its own)."""

from __future__ import annotations

import threading

import pytest

from auditor.providers.pool import TaskGroup, TaskPool


def test_a_small_account_is_not_starved_by_a_big_one() -> None:
    pool = TaskPool(1)  # one worker: the order the tasks run in is the scheduling order
    order: list[str] = []
    gate = threading.Event()
    big, small = TaskGroup(pool, "111111111111"), TaskGroup(pool, "222222222222")
    big.submit(("sagemaker", "us-east-1"), gate.wait)  # holds the worker while the queues fill
    big.submit_many(("sagemaker", "us-east-1"), [lambda i=i: order.append(f"big-{i}") for i in range(50)])
    small.submit_many(("sagemaker", "us-east-1"), [lambda i=i: order.append(f"small-{i}") for i in range(2)])
    gate.set()
    small.wait()
    assert order.index("small-1") < 5  # round-robin across (account, region) lanes, not first come first served
    big.wait()
    pool.wait()
    assert len(order) == 52


def test_a_group_waits_for_its_own_tasks_and_the_tasks_they_submit() -> None:
    pool = TaskPool(4)
    done: list[str] = []
    release = threading.Event()
    slow, quick = TaskGroup(pool, "a"), TaskGroup(pool, "b")
    slow.submit(("iam", "global"), release.wait)

    def parent() -> None:
        quick.submit(("kms", "eu-west-1"), lambda: done.append("child"))

    quick.submit(("kms", "eu-west-1"), parent)
    quick.wait()  # returns although the other group's task is still running
    assert done == ["child"]
    release.set()
    slow.wait()
    pool.wait()


def test_a_failing_task_is_raised_by_its_group_only() -> None:
    pool = TaskPool(2)
    broken, fine = TaskGroup(pool, "a"), TaskGroup(pool, "b")

    def boom() -> None:
        raise ValueError("bug in a collector")

    broken.submit(("sagemaker", "us-east-1"), boom)
    fine.submit(("sagemaker", "us-east-1"), lambda: None)
    fine.wait()
    with pytest.raises(ValueError, match="bug in a collector"):
        broken.wait()
    pool.wait()  # the shared pool saw no failure: the group kept it


def test_lanes_carry_the_group_name() -> None:
    lanes: list[tuple[str, str]] = []

    class Recorder:
        def add_total(self, n: int) -> None: ...
        def advance(self, n: int) -> None: ...
        def lane_open(self, lane: tuple[str, str]) -> None:
            lanes.append(lane)
        def lane_done(self, lane: tuple[str, str], calls: int) -> None: ...
        def close(self) -> None: ...

    pool = TaskPool(1, Recorder())  # type: ignore[arg-type]
    group = TaskGroup(pool, "123456789012")
    group.submit(("sagemaker", "eu-west-1"), lambda: None)
    group.wait()
    pool.wait()
    assert lanes == [("sagemaker", "123456789012/eu-west-1")]
