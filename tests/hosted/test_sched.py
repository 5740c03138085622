"""Scheduling policy (kwe.tasks.sched): round robin, slices, wake-ups."""
from hypothesis import given, strategies as st

from kwe.tasks import sched


def test_round_robin_order_and_requeue():
    q = sched.PyRunQueue(4, quantum=1)
    for i in range(4):
        q.enqueue(i)
    assert q.order() == [0, 1, 2, 3]
    assert q.pick_next() == 0
    q.enqueue(0)                                   # yielded: to the back
    assert q.order() == [1, 2, 3, 0]
    q.enqueue(1)                                   # already queued: no-op
    assert len(q) == 4


def test_remove_and_empty():
    q = sched.PyRunQueue(3)
    assert q.pick_next() is None
    q.enqueue(0); q.enqueue(1); q.enqueue(2)
    q.remove(1)
    assert q.order() == [0, 2]
    q.remove(1)                                    # not queued: no-op
    assert [q.pick_next(), q.pick_next(), q.pick_next()] == [0, 2, None]


def test_slice_runs_out_only_if_someone_waits():
    q = sched.PyRunQueue(2, quantum=3)
    q.enqueue(0)
    running = q.pick_next()
    assert [q.tick(running) for _ in range(5)] == [False] * 5     # alone: never preempted
    q.enqueue(1)
    running = q.pick_next()                        # 1 runs with a fresh slice of 3
    q.enqueue(0)
    assert [q.tick(running) for _ in range(3)] == [False, False, True]


@given(st.integers(2, 12), st.integers(1, 5), st.integers(20, 200))
def test_no_task_starves(n, quantum, ticks):
    """Preempt whenever tick() says so: every task gets the CPU within n slices."""
    q = sched.PyRunQueue(n, quantum=quantum)
    for i in range(n):
        q.enqueue(i)
    running = q.pick_next()
    last_ran = {i: 0 for i in range(n)}
    for t in range(1, ticks + 1):
        last_ran[running] = t
        if q.tick(running):
            q.enqueue(running)
            running = q.pick_next()
        for i in range(n):
            assert t - last_ran[i] <= n * quantum, (i, t)
