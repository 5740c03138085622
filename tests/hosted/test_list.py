"""Intrusive doubly linked lists (kwe.common.list), checked against a Python list."""
from hypothesis import given, strategies as st

from kwe.common.list import PyList

N = 8                                               # nodes in every test list


def check(l, model):
    """Both walks, the count, and every node's links agree with the model."""
    assert l.forward() == model
    assert l.backward() == model[::-1]
    assert len(l) == len(model) and l.empty() == (not model)
    for i in range(N):
        if i in model:
            k = model.index(i)
            prev = model[k - 1] if k > 0 else None
            nxt = model[k + 1] if k + 1 < len(model) else None
            assert l.links(i) == (prev, nxt) and l.is_linked(i)
        else:
            assert l.links(i) == (None, None) and not l.is_linked(i)


def test_push_front_and_back_order():
    l = PyList(N)
    check(l, [])
    l.push_back(1)
    l.push_front(0)
    l.push_back(2)
    l.push_front(3)
    check(l, [3, 0, 1, 2])


def test_remove_head_middle_tail_and_single():
    l = PyList(N)
    for i in range(5):
        l.push_back(i)
    l.remove(0)
    l.remove(2)
    l.remove(4)
    check(l, [1, 3])
    l.remove(1)
    l.remove(3)
    check(l, [])
    l.push_front(5)
    l.remove(5)
    check(l, [])


def test_remove_of_an_unlinked_node_is_a_no_op():
    l = PyList(N)
    l.remove(0)                                     # never linked
    l.push_back(1)
    l.push_back(2)
    l.remove(0)
    l.remove(2)
    l.remove(2)                                     # already removed
    check(l, [1])


def test_pop_front_is_fifo_after_push_back():
    l = PyList(N)
    assert l.pop_front() is None
    for i in (4, 2, 6):
        l.push_back(i)
    assert [l.pop_front() for _ in range(4)] == [4, 2, 6, None]
    check(l, [])


def test_a_removed_node_can_be_pushed_again():
    l = PyList(N)
    for i in range(3):
        l.push_back(i)
    l.remove(1)
    l.push_front(1)
    check(l, [1, 0, 2])
    l.remove(2)
    l.push_back(2)
    check(l, [1, 0, 2])


OPS = st.lists(st.tuples(st.sampled_from(["front", "back", "remove", "pop"]),
                         st.integers(0, N - 1)), max_size=60)


@given(OPS)
def test_random_operations_match_a_python_list(ops):
    l, model = PyList(N), []
    for op, i in ops:
        if op == "front" and i not in model:
            l.push_front(i)
            model.insert(0, i)
        elif op == "back" and i not in model:
            l.push_back(i)
            model.append(i)
        elif op == "remove":                        # linked or not
            l.remove(i)
            if i in model:
                model.remove(i)
        elif op == "pop":
            assert l.pop_front() == (model.pop(0) if model else None)
        check(l, model)
