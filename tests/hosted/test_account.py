"""Accounts: what each process holds against its limits and the limits over
all processes (kwe.mm.account), and the heap and page tables charging them."""
from hypothesis import given, settings, strategies as st

from kwe.base import cmdline
from kwe.mm import account, heap, vmm
from memory import fresh

R = account.RESOURCES
RW = 0x03                                   # vmm.MAP_WRITE | MAP_USER


def setup(line=b""):
    cmdline.py_set_line(line)
    fresh()
    cmdline.py_set_line(b"")


def test_limits_come_from_the_command_line_with_defaults():
    setup(b"quota_events=7 limit_procs=3")
    limits = account.py_limits()
    assert limits["events"][0] == 7 and limits["procs"][1] == 3
    assert limits["heap"][0] == 64 << 20 and 0 < limits["heap"][1] <= 8 << 20     # half of RAM
    assert limits["fds"] == (1024, 65536)


def test_a_charge_is_refused_past_the_process_limit_or_the_total():
    setup(b"quota_timers=5 limit_timers=8")
    a, b = account.py_create(1), account.py_create(2)
    assert account.py_take(a, R["timers"], 5)
    assert not account.py_take(a, R["timers"], 1)           # its own limit
    assert account.py_take(b, R["timers"], 3)
    assert not account.py_take(b, R["timers"], 1)           # the total: 8
    account.py_give(a, R["timers"], 2)
    assert account.py_take(b, R["timers"], 2)
    assert account.py_used(-1)[0][R["timers"]] == 8


def test_heap_objects_are_charged_to_their_owner_until_freed():
    setup(b"quota_heap=14000")
    a = account.py_create(1)
    p = account.py_malloc_for(a, 6000)
    assert p and account.py_used(a) == ([6000] + [0] * (len(R) - 1), 1)
    assert account.py_malloc_for(a, 9000) == 0               # over 14,000
    q = heap.py_realloc(p, 7000)                            # moves: still the owner's
    assert account.py_used(a)[0][R["heap"]] == 7000
    heap.py_free(q)
    assert account.py_used(a) == ([0] * len(R), 0)
    assert account.py_close(a) and account.py_leaked() == 0
    assert heap.py_check() == 0


def test_closing_an_account_that_still_holds_something_is_a_reported_leak():
    setup()
    a = account.py_create(5)
    account.py_malloc_for(a, 100)
    assert not account.py_close(a) and account.py_leaked() == 1


def test_an_address_space_charges_every_page_it_takes_and_gives_them_back():
    setup(b"quota_pages=20")
    a = account.py_create(1)
    s = vmm.py_create_for(account.py_pointer(a))
    assert account.py_used(a)[0][R["pages"]] == 1            # the top table
    assert vmm.py_map_new(s, 0x400000, 10, RW) == 0
    used = account.py_used(a)[0][R["pages"]]
    assert used == 1 + 3 + 10                               # PDPT, PD, PT, 10 pages
    assert vmm.py_map_new(s, 0x800000, 10, RW) != 0             # the quota: all or nothing
    assert account.py_used(a)[0][R["pages"]] == used
    vmm.py_destroy(s)
    assert account.py_used(a) == ([0] * len(R), 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(sorted(R.values())), st.integers(0, 9),
                          st.booleans()), max_size=60))
def test_the_total_is_always_the_sum_of_the_accounts(ops):
    setup(b"quota_events=20 limit_events=40")
    ids = [account.py_create(i + 1) for i in range(3)]
    held = {(i, r): 0 for i in range(3) for r in R.values()}
    for who, r, n, give in ops:
        if give:
            n = min(n, held[who, r])
            account.py_give(ids[who], r, n)
            held[who, r] -= n
        elif account.py_take(ids[who], r, n):
            held[who, r] += n
    for r in R.values():
        assert account.py_used(-1)[0][r] == sum(held[i, r] for i in range(3))
        assert all(held[i, r] <= account.py_limits()[k][0] for i in range(3)
                   for k, v in R.items() if v == r)
