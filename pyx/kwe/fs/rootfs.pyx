# See rootfs.pxd.
from libc.stdint cimport uint32_t, uint64_t
from kwe.common cimport abi
from kwe.base cimport boot, cmdline
from kwe.dev cimport blockdev, pit, rtc, ata
from kwe.mm cimport pmm
from kwe.fs cimport tagfs, bcache, tagbits
from kwe.fs.tagfs cimport FS
from kwe.dev.blockdev cimport BlockDev
from kwe.base.console cimport kprintf

cdef enum:
    DEFAULT_COMMIT_MS = 1000

cdef FS root
cdef BlockDev disk
cdef bint mounted = False
cdef uint64_t period_ticks = 0, last_commit = 0, ncommits = 0, low_water = 0

cdef uint64_t clock() noexcept nogil:
    return rtc.unix_time()

cdef uint64_t cache_blocks() noexcept nogil:
    """fs_cache_blocks=N, or 1/fs_cache_share= of the free memory (default 4):
    the cache's pages are the kernel's, charged to no process, and given
    back when memory runs low (reclaim)."""
    cdef uint64_t n = cmdline.get_u64(b"fs_cache_blocks", 0)
    return n if n else tagfs.cache_for(&disk, cmdline.get_u64(b"fs_cache_share", tagfs.DEFAULT_CACHE_SHARE))

cdef int mount() noexcept nogil:
    global mounted, period_ticks, low_water
    cdef boot.BootHeader* h = boot.header()
    cdef uint32_t replayed = 0
    cdef int err
    if h.fs_sectors == 0 or ata.sectors() == 0:
        kprintf(b"tagfs: no filesystem in the image\n")
        return abi.E_NOENT
    blockdev.ata_region(&disk, h.fs_lba, h.fs_sectors / blockdev.SECTORS_PER_BLOCK)
    err = tagfs.mount(&root, &disk, cache_blocks(), clock, 0, &replayed)
    if err != abi.E_OK:
        kprintf(b"tagfs: mount refused: %e: %s\n", err, <uint64_t>root.why)
        return err
    mounted = True
    low_water = pmm.free_count() / 16
    period_ticks = cmdline.get_u64(b"fs_commit_ms", DEFAULT_COMMIT_MS) * pit.hz() / 1000
    kprintf(b"tagfs: %u files, %u tags, %u of %u blocks free; ", root.sb.nfiles, root.sb.ntags,
            root.sb.free_blocks, root.sb.nblocks)
    if root.was_clean:
        kprintf(b"unmounted cleanly last time\n")
    else:
        kprintf(b"not unmounted cleanly: journal replayed %u blocks\n", replayed)
    return abi.E_OK

cdef int unmount() noexcept nogil:
    global mounted
    cdef int err
    if not mounted:
        return abi.E_OK
    err = tagfs.unmount(&root)
    mounted = False
    if err != abi.E_OK:
        kprintf(b"tagfs: unmount: %e: %s\n", err, <uint64_t>root.why)
    return err

cdef FS* fs() noexcept nogil:
    return &root if mounted else NULL

cdef void reclaim() noexcept nogil:
    """Memory is short (under 1/16 of what it was at mount): the cache gives
    back every clean block.  Run between operations, when no one holds a block."""
    if mounted and pmm.free_count() < low_water:
        give_back()

cdef void give_back() noexcept nogil:
    """The memory the volume holds for speed only: clean blocks, bitmaps."""
    bcache.drop_clean(&root.cache)
    tagbits.drop_all(&root.bits)

cdef void maybe_commit() noexcept nogil:
    global last_commit, ncommits
    reclaim()
    if not mounted or tagfs.pending_blocks(&root) == 0 or pit.ticks() - last_commit < period_ticks:
        return
    last_commit = pit.ticks()
    if tagfs.sync(&root) == abi.E_OK:
        ncommits += 1

cdef int quiesce() noexcept nogil:
    cdef int err
    if not mounted:
        return abi.E_OK
    err = tagfs.sync(&root)
    give_back()
    return err

cdef uint64_t commits() noexcept nogil:
    return ncommits
