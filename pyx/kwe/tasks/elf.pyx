# See elf.pxd.  Layouts: the System V ABI, ELF-64 Object File Format 1.5.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy
from kwe.mm cimport vmm, pmm
from kwe.base cimport hal
from kwe.common.abi cimport USER_IMAGE_BASE, USER_EVENT_RING
from kwe.mm.vmm cimport AddressSpace

cdef enum:
    EHDR_SIZE = 64
    PHDR_SIZE = 56
    ET_EXEC = 2
    EM_X86_64 = 62
    PT_LOAD = 1
    PT_DYNAMIC = 2
    PT_INTERP = 3
    PF_X = 1
    PF_W = 2
    PAGE = 4096

cdef struct Segment:
    uint64_t offset, vaddr, filesz, memsz
    uint32_t flags

cdef uint64_t rd(const uint8_t* p, int n) noexcept nogil:
    """Little-endian unsigned integer of n bytes at p (any alignment)."""
    cdef uint64_t v = 0
    cdef int i
    for i in range(n - 1, -1, -1):
        v = (v << 8) | p[i]
    return v

cdef void read_segment(const uint8_t* ph, Segment* s) noexcept nogil:
    s.flags = <uint32_t>rd(ph + 4, 4)
    s.offset = rd(ph + 8, 8)
    s.vaddr = rd(ph + 16, 8)
    s.filesz = rd(ph + 32, 8)
    s.memsz = rd(ph + 40, 8)

cdef int check_header(const uint8_t* im, uint64_t size) noexcept nogil:
    cdef uint64_t phoff, phnum
    if size < EHDR_SIZE:
        return ELF_TOO_SMALL
    if im[0] != 0x7F or im[1] != c'E' or im[2] != c'L' or im[3] != c'F':
        return ELF_BAD_MAGIC
    if im[4] != 2 or im[5] != 1 or im[6] != 1 or rd(im + 20, 4) != 1:
        return ELF_NOT_ELF64
    if rd(im + 16, 2) != ET_EXEC:
        return ELF_NOT_EXEC
    if rd(im + 18, 2) != EM_X86_64:
        return ELF_NOT_X86_64
    phoff = rd(im + 32, 8)
    phnum = rd(im + 56, 2)
    if rd(im + 54, 2) != PHDR_SIZE or phnum == 0 or phnum > MAX_PHDRS:
        return ELF_BAD_PHDRS
    if phoff > size or phnum * PHDR_SIZE > size - phoff:
        return ELF_BAD_PHDRS
    return ELF_OK

cdef int check_segment(Segment* s, uint64_t size) noexcept nogil:
    if s.filesz > s.memsz or s.offset > size or s.filesz > size - s.offset:
        return ELF_BAD_SEGMENT
    if s.vaddr < USER_IMAGE_BASE or s.memsz > USER_EVENT_RING or s.vaddr > USER_EVENT_RING - s.memsz:
        return ELF_BAD_ADDRESS
    if (s.flags & PF_W) and (s.flags & PF_X):
        return ELF_WX
    return ELF_OK

cdef uint64_t page_down(uint64_t a) noexcept nogil:
    return a & ~<uint64_t>(PAGE - 1)

cdef uint64_t page_up(uint64_t a) noexcept nogil:
    return (a + PAGE - 1) & ~<uint64_t>(PAGE - 1)

cdef int validate(const uint8_t* im, uint64_t size, ElfInfo* info) noexcept nogil:
    cdef Segment seg[MAX_PHDRS]
    cdef uint64_t phoff, phnum, entry, total = 0, i, j, ptype
    cdef int err = check_header(im, size), n = 0
    cdef bint entry_ok = False
    if err != ELF_OK:
        return err
    phoff = rd(im + 32, 8)
    phnum = rd(im + 56, 2)
    entry = rd(im + 24, 8)
    for i in range(phnum):
        ptype = rd(im + phoff + i * PHDR_SIZE, 4)
        if ptype == PT_DYNAMIC or ptype == PT_INTERP:
            return ELF_NOT_EXEC
        if ptype != PT_LOAD:
            continue
        read_segment(im + phoff + i * PHDR_SIZE, &seg[n])
        if seg[n].memsz == 0:
            continue
        err = check_segment(&seg[n], size)
        if err != ELF_OK:
            return err
        total += page_up(seg[n].vaddr + seg[n].memsz) - page_down(seg[n].vaddr)
        if (seg[n].flags & PF_X) and seg[n].vaddr <= entry < seg[n].vaddr + seg[n].memsz:
            entry_ok = True
        n += 1
    if n == 0:
        return ELF_NO_SEGMENTS
    for i in range(n):                      # segments may not share a page
        for j in range(i + 1, n):
            if (page_down(seg[i].vaddr) < page_up(seg[j].vaddr + seg[j].memsz) and
                    page_down(seg[j].vaddr) < page_up(seg[i].vaddr + seg[i].memsz)):
                return ELF_OVERLAP
    if total > (<uint64_t>MAX_IMAGE_MB << 20):
        return ELF_TOO_BIG
    if not entry_ok:
        return ELF_BAD_ENTRY
    if info != NULL:
        info.entry = entry
        info.nsegments = n
        info.lowest = USER_EVENT_RING
        info.highest = 0
        for i in range(n):
            info.lowest = min(info.lowest, page_down(seg[i].vaddr))
            info.highest = max(info.highest, seg[i].vaddr + seg[i].memsz)
    return ELF_OK

cdef void copy_to_user(AddressSpace* s, uint64_t va, const uint8_t* src, uint64_t n) noexcept nogil:
    """Copy into mapped pages of s through the direct map (they may be read-only to the process)."""
    cdef uint64_t pa, take
    while n:
        vmm.translate(s, va, &pa, NULL)
        take = PAGE - (va & (PAGE - 1))
        if take > n:
            take = n
        memcpy(hal.phys_to_virt(pa), src, take)
        va += take
        src += take
        n -= take

cdef int load(AddressSpace* s, const uint8_t* im, uint64_t size) noexcept nogil:
    cdef Segment seg
    cdef uint64_t phoff = rd(im + 32, 8), phnum = rd(im + 56, 2), i, start
    cdef uint32_t flags
    for i in range(phnum):
        if rd(im + phoff + i * PHDR_SIZE, 4) != PT_LOAD:
            continue
        read_segment(im + phoff + i * PHDR_SIZE, &seg)
        if seg.memsz == 0:
            continue
        flags = vmm.MAP_USER
        if seg.flags & PF_W:
            flags |= vmm.MAP_WRITE
        if seg.flags & PF_X:
            flags |= vmm.MAP_EXEC
        start = page_down(seg.vaddr)
        if vmm.map_new(s, start, (page_up(seg.vaddr + seg.memsz) - start) / PAGE, flags) != vmm.VMM_OK:
            return ELF_NO_MEMORY
        copy_to_user(s, seg.vaddr, im + seg.offset, seg.filesz)
    return ELF_OK

cdef const char* error_name(int err) noexcept nogil:
    if err == ELF_OK: return b"ok"
    if err == ELF_TOO_SMALL: return b"shorter than an ELF header"
    if err == ELF_BAD_MAGIC: return b"not an ELF file"
    if err == ELF_NOT_ELF64: return b"not little-endian ELF64 version 1"
    if err == ELF_NOT_EXEC: return b"not a static executable"
    if err == ELF_NOT_X86_64: return b"not x86-64"
    if err == ELF_BAD_PHDRS: return b"bad program headers"
    if err == ELF_BAD_SEGMENT: return b"segment outside the file"
    if err == ELF_BAD_ADDRESS: return b"segment outside user space"
    if err == ELF_OVERLAP: return b"overlapping segments"
    if err == ELF_WX: return b"writable and executable segment"
    if err == ELF_NO_SEGMENTS: return b"nothing to load"
    if err == ELF_BAD_ENTRY: return b"entry point not in an executable segment"
    if err == ELF_TOO_BIG: return b"image too big"
    if err == ELF_NO_MEMORY: return b"out of memory"
    return b"unknown error"

def py_validate(bytes image):
    """(error code, entry, lowest, highest, nsegments)"""
    cdef ElfInfo info
    info.entry = info.lowest = info.highest = 0
    info.nsegments = 0
    cdef int err = validate(<const uint8_t*><const char*>image, len(image), &info)
    return err, info.entry, info.lowest, info.highest, info.nsegments

def py_error_name(int err):
    return error_name(err).decode()
