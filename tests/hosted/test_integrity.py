"""TagFS integrity: checksums on every block, damaged disks refused or read
as E_CORRUPT (never wrong bytes), range checks behind the checksums, the
read-only turn, and the clean-unmount record."""
import struct

import pytest

from fsutil import assert_clean, new_volume
from kwe.dev import blockdev
from kwe.fs import tagfs_host as tfs
from kwecli.abi import E_CORRUPT, E_NOTSUP, E_ROFS
from kwecli.tagfs_image import BLOCK, Image, NODE_HEADER, ROOTS_AT, block_sum


def sample():
    """A volume with a few files, unmounted cleanly: (image bytes, {id: bytes})."""
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    files = {}
    for i, size in enumerate([0, 100, 4096, 5000, 40000, 70000]):
        f = v.create(f"n={i} {'even' if i % 2 == 0 else 'odd'} all")
        data = bytes((i * 7 + j) & 0xFF for j in range(size))
        v.write(f, data)
        files[f] = data
    v.unmount()
    return disk.image(), files


def mount(image):
    return tfs.Volume(blockdev.MemDisk(image=bytes(image)))


def corrupt_code(call):
    with pytest.raises(tfs.FSError) as e:
        call()
    return e.value.code


def test_a_clean_unmount_is_recorded_and_mounts_without_replay():
    image, files = sample()
    v = mount(image)
    assert v.replayed == 0 and v.info()["clean_at_mount"]
    assert {f: v.read(f) for f in files} == files
    assert_clean(v)


def test_after_a_crash_the_journal_is_replayed():
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    f = v.create("kept")
    v.write(f, b"committed")
    v.sync()
    crashed = disk.image()                       # never unmounted
    v2 = mount(crashed)
    assert not v2.info()["clean_at_mount"] and v2.replayed > 0
    assert v2.read(f) == b"committed"


def test_a_flipped_data_byte_is_corrupt_to_the_reader_and_to_fsck():
    image, files = sample()
    img = Image(image)
    blocks = img.data_blocks()
    victim = blocks[len(blocks) // 2]
    img.data[victim * BLOCK + 123] ^= 0x40
    v = mount(img.data)
    bad = [f for f in files if corrupt_code_or_none(v, f) == E_CORRUPT]
    assert len(bad) == 1                         # exactly the file that holds the block
    good = [f for f in files if f not in bad]
    assert all(v.read(f) == files[f] for f in good)
    assert corrupt_code(lambda: v.create("after")) == E_ROFS     # read-only since the failed check
    problems, d = v.fsck()
    assert problems >= 1 and any(f"disk block {victim}" in line for line in d["log"]), d["log"]


def corrupt_code_or_none(v, f):
    try:
        v.read(f)
    except tfs.FSError as e:
        return e.code
    return None


def test_a_flipped_index_byte_gives_no_partial_answer():
    disk, v = new_volume(blocks=2048, journal_blocks=256)
    for i in range(400):
        v.create(f"n={i} {'even' if i % 2 == 0 else 'odd'} all")
    v.unmount()
    img = Image(disk.image())
    leaves = [b for b, level in img.tree_blocks(4).items() if level == 0]     # the postings
    assert len(leaves) >= 2
    img.data[leaves[-1] * BLOCK + NODE_HEADER + 3] ^= 1
    v = mount(img.data)
    assert corrupt_code(lambda: v.query("all")) == E_CORRUPT
    assert corrupt_code(lambda: v.query("even AND all")) == E_CORRUPT
    assert v.fsck()[0] > 0


def test_swapped_blocks_fail_even_though_each_is_sound():
    image, files = sample()
    img = Image(image)
    a, b = img.data_blocks()[:2]
    ba, bb = img.block(a), img.block(b)
    img.put(a, bb)
    img.put(b, ba)
    v = mount(img.data)
    assert any(corrupt_code_or_none(v, f) == E_CORRUPT for f in files)
    assert all(corrupt_code_or_none(v, f) in (None, E_CORRUPT) for f in files)


def test_a_root_pointing_at_a_copy_is_refused_at_mount():
    image, _ = sample()
    img = Image(image)
    root = img.sb["roots"][0]
    copy = img.sb["nblocks"] - 1
    img.put(copy, img.block(root))
    struct.pack_into("<Q", img.data, ROOTS_AT, copy)
    img.reseal(0)
    with pytest.raises(tfs.FSError) as e:
        mount(img.data)
    assert e.value.code == E_CORRUPT and "root of tree 0" in str(e.value)


def test_an_older_format_is_refused_with_a_way_forward():
    image, _ = sample()
    img = Image(image)
    for b in (0, 1):
        struct.pack_into("<I", img.data, b * BLOCK + 8, 1)
    with pytest.raises(tfs.FSError) as e:
        mount(img.data)
    assert e.value.code == E_NOTSUP and "version 1" in str(e.value) and "mkfs" in str(e.value)


def test_a_damaged_superblock_falls_back_to_its_copy_and_the_journal():
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    f = v.create("x")
    v.write(f, b"data")
    v.sync()
    img = Image(disk.image())
    img.data[100] ^= 0xFF                        # block 0 no longer checks out
    v2 = mount(img.data)
    assert v2.read(f) == b"data" and v2.replayed > 0
    assert_clean(v2)


def test_both_superblocks_damaged_is_refused():
    image, _ = sample()
    img = Image(image)
    img.data[100] ^= 0xFF
    img.data[BLOCK + 100] ^= 0xFF
    with pytest.raises(tfs.FSError) as e:
        mount(img.data)
    assert e.value.code == E_CORRUPT and "checksum" in str(e.value)


def test_a_journal_naming_blocks_outside_the_volume_is_refused():
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    v.create("x")
    v.sync()
    img = Image(disk.image())
    # the committed transaction's first entry sent far past the end, its sums made right again
    import zlib
    desc = bytearray(img.block(2))
    n = struct.unpack_from("<I", desc, 4)[0]
    field = struct.unpack_from("<I", desc, 24 + 12)[0]
    far = 1 << 40
    contents = bytes(img.block(3))                   # block k = 1: the first block's new contents
    struct.pack_into("<QI", desc, 24, far, block_sum(img.seed, far, contents,
                                                     None if field == 0xFFFFFFFF else field))
    img.put(2, desc)
    commit = bytearray(img.block(2 + 1 + n))
    struct.pack_into("<I", commit, 16, zlib.crc32(bytes(desc), img.seed))
    img.put(2 + 1 + n, commit)
    with pytest.raises(tfs.FSError) as e:
        mount(img.data)
    assert e.value.code == E_CORRUPT and "journal" in str(e.value)


def test_resealed_nonsense_is_caught_by_the_range_checks():
    """A hostile disk can make checksums right; the numbers behind them are
    still checked: a chunk pointing into the journal, a node claiming more
    keys than fit, a child pointing at its own parent."""
    image, files = sample()
    for damage in (chunk_into_journal, overfull_leaf, child_is_parent):
        img = Image(image)
        damage(img)
        try:
            v = mount(img.data)
        except tfs.FSError as e:
            assert e.code == E_CORRUPT, damage
            continue
        for f in files:
            assert corrupt_code_or_none(v, f) in (None, E_CORRUPT), damage
        for q in ("all", "even", "NOT odd"):
            try:
                v.query(q)
            except tfs.FSError as e:
                assert e.code == E_CORRUPT, damage
        assert v.fsck()[0] > 0, damage


def chunk_into_journal(img):
    leaf = next(b for b, level in img.tree_blocks(1).items() if level == 0)
    key, value = img.leaf_values(leaf, 1)[0]
    vsize = 64
    cap = (BLOCK - NODE_HEADER) // (8 + vsize)
    struct.pack_into("<I", img.data, leaf * BLOCK + NODE_HEADER + 8 * cap, 5)     # physical[0] = block 5
    img.reseal(leaf)


def overfull_leaf(img):
    leaf = next(b for b, level in img.tree_blocks(4).items() if level == 0)
    struct.pack_into("<H", img.data, leaf * BLOCK + 6, 4000)
    img.reseal(leaf)


def child_is_parent(img):
    parents = [b for b, level in img.tree_blocks(4).items() if level > 0]
    if not parents:                               # a one-leaf tree: make the root an internal node
        root = img.sb["roots"][4]
        struct.pack_into("<HH", img.data, root * BLOCK + 4, 1, 0)
        struct.pack_into("<I", img.data, root * BLOCK + NODE_HEADER + 8 * 339, root)
        img.reseal(root)
        return
    p = parents[0]
    struct.pack_into("<I", img.data, p * BLOCK + NODE_HEADER + 8 * 339, p)
    img.reseal(p)


# ---- fsck --repair ---------------------------------------------------------------------
def repaired(data):
    from kwecli import repair
    s = repair.salvage(bytes(data))
    return s, mount(repair.rebuild(s))


def test_repair_of_a_sound_volume_keeps_everything_and_every_id():
    image, files = sample()
    before = mount(image)
    tags = {f: sorted(before.tags(f)) for f in files}
    s, v = repaired(image)
    assert s.lost == [] and sorted(s.kept) == sorted(files)
    assert {f: v.read(f) for f in files} == files and {f: sorted(v.tags(f)) for f in files} == tags
    assert v.query("even") == before.query("even")
    assert_clean(v)


def test_repair_drops_the_file_whose_block_fails_and_says_so():
    image, files = sample()
    img = Image(image)
    victim = img.data_blocks()[0]
    img.data[victim * BLOCK + 9] ^= 4
    s, v = repaired(img.data)
    assert len(s.lost) == 1 and f"disk block {victim}" in s.lost[0]
    lost = int(s.lost[0].split()[1].rstrip(":"))
    assert sorted(v.files()) == sorted(set(files) - {lost})
    assert all(v.read(f) == files[f] for f in v.files())
    assert_clean(v)


def test_repair_rebuilds_a_volume_whose_index_root_is_gone():
    disk, v = new_volume(blocks=2048, journal_blocks=256)
    files = {}
    for i in range(300):
        f = v.create(f"n={i} all")
        files[f] = bytes([i & 0xFF]) * (i * 13)
        v.write(f, files[f])
    v.unmount()
    img = Image(disk.image())
    img.put(img.sb["roots"][4], bytes(BLOCK))     # the postings' root: mount refuses the volume
    with pytest.raises(tfs.FSError):
        mount(img.data)
    s, v2 = repaired(img.data)
    assert sorted(s.kept) == sorted(files)        # postings are a mirror of the file tags
    assert {f: v2.read(f) for f in files} == files and len(v2.query("all")) == 300
    assert_clean(v2)

