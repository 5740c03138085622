"""TagFS, hosted: files, tags, queries, atomicity, persistence."""
import pytest
from hypothesis import given, settings, strategies as st

from fsutil import assert_clean, new_volume, snapshot
from kwe.dev import blockdev
from kwe.fs import tagfs_host as tfs
from kwecli.abi import E_EXIST, E_INVAL, E_NOENT, E_NOSPC


def test_files_and_tags_round_trip():
    disk, v = new_volume()
    a = v.create("type=program name=hello")
    v.write(a, b"x" * 10000)
    v.write(a, b"HELLO", offset=9998)                 # overwrite across a block edge, and extend
    assert v.read(a) == b"x" * 9998 + b"HELLO"
    assert v.stat(a)["size"] == 10003
    assert sorted(v.tags(a)) == ["name=hello", "type=program"]
    v.tag(a, "important")
    v.untag(a, "name=hello")
    assert sorted(v.tags(a)) == ["important", "type=program"]
    assert v.query("name=hello") == []
    assert_clean(v)


def test_holes_and_truncate():
    disk, v = new_volume()
    a = v.create()
    v.write(a, b"end", offset=20000)                  # blocks 0-3 are a hole
    assert v.read(a) == bytes(20000) + b"end"
    v.truncate(a, 5)
    assert v.read(a) == bytes(5)
    v.write(a, b"abcdefgh")
    v.truncate(a, 4)
    v.truncate(a, 8)                                  # grows again: the cut bytes read as zeros
    assert v.read(a) == b"abcd\0\0\0\0"
    assert_clean(v)


def test_errors_are_codes_not_crashes():
    disk, v = new_volume()
    a = v.create("t")
    for call, code in [(lambda: v.read(999), E_NOENT), (lambda: v.tag(a, "t"), E_EXIST),
                       (lambda: v.tag(a, "has space"), E_INVAL), (lambda: v.tag(a, "AND"), E_INVAL),
                       (lambda: v.tag(a, "and"), E_INVAL), (lambda: v.tag(a, "x="), E_INVAL),
                       (lambda: v.tag(a, "x" * 119), E_INVAL), (lambda: v.untag(a, "nope"), E_NOENT),
                       (lambda: v.delete(999), E_NOENT), (lambda: v.query("a AND"), E_INVAL),
                       (lambda: v.query("(a"), E_INVAL), (lambda: v.query("a)"), E_INVAL),
                       (lambda: v.create("bad(tag"), E_INVAL)]:
        with pytest.raises(tfs.FSError) as e:
            call()
        assert e.value.code == code
    assert v.files() == [a]                           # the failed create left nothing behind
    assert_clean(v)


def test_a_full_disk_is_nospc_and_the_failed_write_changes_nothing():
    disk, v = new_volume(blocks=260, journal_blocks=96)   # about 160 data blocks
    a = v.create("big")
    v.write(a, b"1" * 4096 * 60)
    b = v.create("more")
    v.sync()
    before, free = snapshot(v), v.info()["free_blocks"]
    assert 80 < free < 120
    with pytest.raises(tfs.FSError) as e:
        v.write(b, b"2" * 4096 * 120)                  # one operation (one write chunk) too many
    assert e.value.code == E_NOSPC
    assert snapshot(v) == before and v.info()["free_blocks"] == free     # rolled back whole
    v.write(b, b"3" * 4096 * 50)                       # and the disk still works
    assert v.read(b) == b"3" * 4096 * 50
    assert_clean(v)


def test_delete_gives_every_block_back():
    disk, v = new_volume()
    free = v.info()["free_blocks"]
    ids = [v.create(f"n={i} common") for i in range(50)]
    for i in ids:
        v.write(i, bytes([i % 256]) * (i * 1000))
    for i in ids:
        v.delete(i)
    assert v.info()["files"] == v.info()["tags"] == 0
    # the B-tree keeps its (now empty) nodes; data blocks all come back
    details = assert_clean(v)
    assert v.info()["free_blocks"] == free - details["tree_blocks"]


def test_large_writes_span_transactions_and_survive_remount():
    disk, v = new_volume(blocks=8192)
    a = v.create("large")
    data = bytes(range(256)) * (4096 * 4)             # 4 MiB: more than one journal's worth
    v.write(a, data)
    v.sync()
    v.unmount()
    v = tfs.Volume(disk)
    assert v.read(a) == data
    assert_clean(v)


def test_uncommitted_changes_vanish_committed_ones_stay():
    disk, v = new_volume()
    a = v.create("kept")
    v.sync()
    v.create("lost")                                   # never synced
    image = disk.image()                               # the disk as a power cut would leave it
    v2 = tfs.Volume(blockdev.MemDisk(image=image))
    assert v2.query("kept") == [a] and v2.query("lost") == []
    assert_clean(v2)


# ---- against a Python model ------------------------------------------------------------
ops = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sets(st.sampled_from("abcdef"), max_size=3)),
    st.tuples(st.just("write"), st.integers(0, 9), st.integers(0, 9000), st.binary(min_size=1, max_size=5000)),
    st.tuples(st.just("truncate"), st.integers(0, 9), st.integers(0, 12000)),
    st.tuples(st.just("tag"), st.integers(0, 9), st.sampled_from("abcdef")),
    st.tuples(st.just("untag"), st.integers(0, 9), st.sampled_from("abcdef")),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("sync"))), max_size=40)

QUERIES = ["a", "a AND b", "a b", "a OR b", "NOT a", "a AND NOT b", "(a OR b) AND NOT (c OR d)",
           "NOT a OR NOT b", "NOT (a AND b) AND e", "f OR (NOT e AND NOT f)"]


def model_query(q, files):
    import re
    expr = re.sub(r"\b([a-f])\b", r"('\1' in t)", q.replace("AND", "and").replace("OR", "or").replace("NOT", "not"))
    expr = re.sub(r"\)\s+\(", ") and (", re.sub(r"(\))\s+(\(')", r"\1 and \2", expr))
    return sorted(f for f, (_, t) in files.items() if eval(expr, {}, {"t": t}))


@settings(max_examples=60, deadline=None)
@given(ops)
def test_random_operations_agree_with_a_model(ops):
    disk, v = new_volume()
    model = {}                                          # id -> [bytearray, set(tags)]
    for op in ops:
        ids = sorted(model)
        if op[0] == "create":
            f = v.create(" ".join(sorted(op[1])))
            model[f] = [bytearray(), set(op[1])]
        elif op[0] == "sync":
            v.sync()
        elif not ids:
            continue
        else:
            f = ids[op[1] % len(ids)]
            data, tags = model[f]
            if op[0] == "write":
                off, blob = op[2], op[3]
                if len(data) < off:
                    data.extend(bytes(off - len(data)))
                data[off:off + len(blob)] = blob
                v.write(f, blob, offset=off)
            elif op[0] == "truncate":
                v.truncate(f, op[2])
                del data[op[2]:]
                data.extend(bytes(op[2] - len(data)))
            elif op[0] == "tag":
                if op[2] in tags:
                    with pytest.raises(tfs.FSError):
                        v.tag(f, op[2])
                else:
                    v.tag(f, op[2])
                    tags.add(op[2])
            elif op[0] == "untag":
                if op[2] in tags:
                    v.untag(f, op[2])
                    tags.discard(op[2])
                else:
                    with pytest.raises(tfs.FSError):
                        v.untag(f, op[2])
            elif op[0] == "delete":
                v.delete(f)
                del model[f]
    assert snapshot(v) == {f: (bytes(d), sorted(t)) for f, (d, t) in model.items()}
    files = {f: (d, t) for f, (d, t) in model.items()}
    for q in QUERIES:
        assert v.query(q) == model_query(q, files), q
    assert_clean(v)


def test_bulk_loading_makes_the_same_files_as_one_by_one():
    disk, v = new_volume(blocks=8192, journal_blocks=256)
    lists = [f"n={i} {'even' if i % 2 == 0 else 'odd'} all" for i in range(3000)]
    ids = v.create_many(lists)
    assert ids == list(range(1, 3001)) and v.pending() > 0
    assert len(v.query("even")) == 1500 and v.query("n=2999") == [3000]
    assert sorted(v.tags(ids[7])) == ["all", "n=7", "odd"]
    assert_clean(v)


def test_a_bad_tag_in_a_bulk_load_keeps_the_pieces_before_it():
    disk, v = new_volume(blocks=8192, journal_blocks=128)     # small pieces: a quarter of 64 blocks
    lists = [f"n={i} all" for i in range(2000)] + ["x="] + ["late"]
    with pytest.raises(tfs.FSError) as e:
        v.create_many(lists)
    assert e.value.code == E_INVAL and 0 < e.value.made < 2000
    assert v.files() == list(range(1, e.value.made + 1))       # whole pieces, nothing of the failed one
    assert v.query("late") == []
    assert_clean(v)


between = st.lists(st.one_of(
    st.tuples(st.just("create"), st.sets(st.sampled_from("abcdef"), max_size=4)),
    st.tuples(st.just("bulk"), st.lists(st.sets(st.sampled_from("abcdef"), max_size=4), max_size=30),
              st.booleans()),
    st.tuples(st.just("tag"), st.integers(0, 99), st.sampled_from("abcdef")),
    st.tuples(st.just("untag"), st.integers(0, 99), st.sampled_from("abcdef")),
    st.tuples(st.just("delete"), st.integers(0, 99))), max_size=30)


@settings(max_examples=60, deadline=None)
@given(between, st.integers(0, len(QUERIES) - 1))
def test_queries_between_operations_agree_with_a_model(ops, first):
    """Queries after every change, so what a query keeps between queries
    (dense tags' bitmaps) must follow each change and each rolled-back bulk
    load (a bad tag at the end of a piece undoes the piece's postings)."""
    disk, v = new_volume(journal_blocks=64)
    model = {}                                          # id -> set(tags)
    for n, op in enumerate(ops):
        ids = sorted(model)
        if op[0] == "create":
            model[v.create(" ".join(sorted(op[1])))] = set(op[1])
        elif op[0] == "bulk":
            lists = [" ".join(sorted(t)) for t in op[1]] + (["a x="] if op[2] else [])
            before = set(v.files())
            try:
                v.create_many(lists)
            except tfs.FSError:
                assert op[2]
            for f, t in zip(sorted(set(v.files()) - before), op[1]):
                model[f] = set(t)
        elif ids:
            f = ids[op[1] % len(ids)]
            if op[0] == "tag" and op[2] not in model[f]:
                v.tag(f, op[2])
                model[f].add(op[2])
            elif op[0] == "untag" and op[2] in model[f]:
                v.untag(f, op[2])
                model[f].discard(op[2])
            elif op[0] == "delete":
                v.delete(f)
                del model[f]
        q = QUERIES[(first + n) % len(QUERIES)]
        assert v.query(q) == model_query(q, {f: (b"", t) for f, t in model.items()}), (q, op)
    assert_clean(v)
