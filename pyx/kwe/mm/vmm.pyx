# See vmm.pxd.
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memset
from kwe.base cimport hal
from kwe.mm cimport pmm, heap, account

cdef extern from *:
    """
    #define KWE_PTE_NX   0x8000000000000000ULL
    #define KWE_PTE_ADDR 0x000FFFFFFFFFF000ULL
    """
    const uint64_t PTE_NX "KWE_PTE_NX"
    const uint64_t PTE_ADDR "KWE_PTE_ADDR"

cdef enum:
    PTE_PRESENT = 0x001
    PTE_WRITE = 0x002
    PTE_USER = 0x004
    PTE_PWT = 0x008
    PTE_PCD = 0x010
    PTE_HUGE = 0x080
    PTE_GLOBAL = 0x100
    PTE_OWNED = 0x200           # available-to-software bit 9
    ENTRIES = 512
    KERNEL_SLOT = 256           # first PML4 slot of the kernel half
    HUGE_2M = 0x200000
    CR0_WP = 0x10000

cdef AddressSpace kspace
cdef AddressSpace* current = NULL

cdef inline uint64_t* table(uint64_t pa) noexcept nogil:
    return <uint64_t*>hal.phys_to_virt(pa & PTE_ADDR)

cdef inline int index(uint64_t va, int level) noexcept nogil:
    """Index into the level-N table (4 = PML4 ... 1 = PT)."""
    return (va >> (12 + 9 * (level - 1))) & 511

cdef bint canonical(uint64_t va) noexcept nogil:
    cdef uint64_t top = va >> 47
    return top == 0 or top == 0x1FFFF

cdef uint64_t pte_bits(uint32_t flags) noexcept nogil:
    cdef uint64_t b = PTE_PRESENT
    if flags & MAP_WRITE:
        b |= PTE_WRITE
    if flags & MAP_USER:
        b |= PTE_USER
    if not (flags & MAP_EXEC):
        b |= PTE_NX
    if flags & MAP_OWNED:
        b |= PTE_OWNED
    if flags & MAP_GLOBAL:
        b |= PTE_GLOBAL
    if flags & MAP_NOCACHE:
        b |= PTE_PCD | PTE_PWT
    return b

cdef uint32_t map_flags(uint64_t e) noexcept nogil:
    cdef uint32_t f = 0
    if e & PTE_WRITE:
        f |= MAP_WRITE
    if e & PTE_USER:
        f |= MAP_USER
    if not (e & PTE_NX):
        f |= MAP_EXEC
    if e & PTE_OWNED:
        f |= MAP_OWNED
    if e & PTE_GLOBAL:
        f |= MAP_GLOBAL
    if e & PTE_PCD:
        f |= MAP_NOCACHE
    return f

cdef uint64_t page_for(AddressSpace* s, bint charged) noexcept nogil:
    """A zeroed page for s; charged to s's owner unless it is shared (kernel half)."""
    cdef uint64_t pa
    if charged and not account.take(s.owner, account.RES_PAGES, 1):
        return 0
    pa = pmm.alloc_zeroed(1)
    if pa == 0 and charged:
        account.give(s.owner, account.RES_PAGES, 1)
    return pa

cdef void unpage(AddressSpace* s, uint64_t pa, bint charged) noexcept nogil:
    pmm.free_page(pa)
    if charged:
        account.give(s.owner, account.RES_PAGES, 1)

cdef uint64_t* walk(AddressSpace* s, uint64_t va, bint create, int* err) noexcept nogil:
    """The level-1 entry for va, making missing tables if create.  NULL with *err set otherwise."""
    cdef uint64_t* t = table(s.pml4)
    cdef uint64_t e, pa
    cdef int level
    for level in range(4, 1, -1):
        e = t[index(va, level)]
        if not (e & PTE_PRESENT):
            if not create:
                err[0] = VMM_NOT_MAPPED
                return NULL
            pa = page_for(s, va < USER_TOP)
            if pa == 0:
                err[0] = VMM_NO_MEMORY
                return NULL
            if va < USER_TOP:
                s.table_pages += 1
            e = pa | PTE_PRESENT | PTE_WRITE | (PTE_USER if va < USER_TOP else 0)
            t[index(va, level)] = e
        elif e & PTE_HUGE:
            err[0] = VMM_HUGE_PAGE
            return NULL
        t = table(e)
    return &t[index(va, 1)]

cdef bint is_active(AddressSpace* s) noexcept nogil:
    return s == current

cdef void flush(AddressSpace* s, uint64_t va) noexcept nogil:
    if va >= USER_TOP or is_active(s):
        hal.invlpg(va)

cdef int check_address(uint64_t va, uint32_t flags) noexcept nogil:
    if va & (pmm.PAGE_SIZE - 1) or not canonical(va):
        return VMM_BAD_ADDRESS
    if (flags & MAP_USER) and va >= USER_TOP:
        return VMM_BAD_ADDRESS
    return VMM_OK

cdef int map(AddressSpace* s, uint64_t va, uint64_t pa, uint32_t flags) noexcept nogil:
    cdef int err = check_address(va, flags)
    cdef uint64_t* pte
    if err != VMM_OK or pa & (pmm.PAGE_SIZE - 1):
        return VMM_BAD_ADDRESS
    pte = walk(s, va, True, &err)
    if pte == NULL:
        return err
    if pte[0] & PTE_PRESENT:
        return VMM_EXISTS
    pte[0] = pa | pte_bits(flags)
    if va < USER_TOP:
        s.user_pages += 1
    return VMM_OK

cdef bint table_empty(uint64_t* t) noexcept nogil:
    cdef int i
    for i in range(ENTRIES):
        if t[i]:
            return False
    return True

cdef void prune(AddressSpace* s, uint64_t va) noexcept nogil:
    """Free the page tables above va's (now cleared) entry that became empty.
    The kernel half's PDPTs stay: every address space shares them."""
    cdef uint64_t* path[5]
    cdef int level
    path[4] = table(s.pml4)
    for level in range(4, 1, -1):
        path[level - 1] = table(path[level][index(va, level)])
    for level in range(1, 4):
        if level == 3 and va >= USER_TOP:
            break
        if not table_empty(path[level]):
            break
        unpage(s, hal.virt_to_phys(path[level]), va < USER_TOP)
        path[level + 1][index(va, level + 1)] = 0
        if va < USER_TOP:
            s.table_pages -= 1
    hal.invlpg(va)                  # also drops cached paging-structure entries

cdef int unmap(AddressSpace* s, uint64_t va, uint64_t* pa_out) noexcept nogil:
    cdef int err = check_address(va, 0)
    cdef uint64_t* pte
    cdef uint64_t e
    if err != VMM_OK:
        return err
    pte = walk(s, va, False, &err)
    if pte == NULL:
        return err
    e = pte[0]
    if not (e & PTE_PRESENT):
        return VMM_NOT_MAPPED
    pte[0] = 0
    flush(s, va)
    prune(s, va)
    if va < USER_TOP:
        s.user_pages -= 1
    if e & PTE_OWNED:
        unpage(s, e & PTE_ADDR, True)
    if pa_out != NULL:
        pa_out[0] = e & PTE_ADDR
    return VMM_OK

cdef bint translate(AddressSpace* s, uint64_t va, uint64_t* pa, uint32_t* flags) noexcept nogil:
    cdef uint64_t* t = table(s.pml4)
    cdef uint64_t e, size
    cdef int level
    if not canonical(va):
        return False
    for level in range(4, 0, -1):
        e = t[index(va, level)]
        if not (e & PTE_PRESENT):
            return False
        if level == 1 or (e & PTE_HUGE):
            size = (<uint64_t>1) << (12 + 9 * (level - 1))
            if pa != NULL:
                pa[0] = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1))
            if flags != NULL:
                flags[0] = map_flags(e)
            return True
        t = table(e)
    return False

cdef int map_new(AddressSpace* s, uint64_t va, uint64_t n, uint32_t flags) noexcept nogil:
    cdef uint64_t k, pa
    cdef int err
    for k in range(n):
        pa = page_for(s, True)
        if pa == 0:
            err = VMM_NO_MEMORY
        else:
            err = map(s, va + k * pmm.PAGE_SIZE, pa, flags | MAP_OWNED)
            if err != VMM_OK:
                unpage(s, pa, True)
        if err != VMM_OK:
            while k:                            # undo: all or nothing
                k -= 1
                unmap(s, va + k * pmm.PAGE_SIZE, NULL)
            return err
    return VMM_OK

cdef AddressSpace* create() noexcept nogil:
    return create_for(NULL)

cdef AddressSpace* create_for(Account* owner) noexcept nogil:
    cdef AddressSpace* s = <AddressSpace*>heap.kzalloc_for(owner, sizeof(AddressSpace))
    cdef uint64_t* top
    cdef uint64_t* ktop = table(kspace.pml4)
    cdef int i
    if s == NULL:
        return NULL
    s.owner = owner
    s.pml4 = page_for(s, True)
    if s.pml4 == 0:
        heap.kfree(s)
        return NULL
    top = table(s.pml4)
    for i in range(KERNEL_SLOT, ENTRIES):
        top[i] = ktop[i]
    return s

cdef void free_tree(AddressSpace* s, uint64_t pa, int level) noexcept nogil:
    """Free the table at pa (a level-`level` table, level <= 3) and everything below it.
    Depth first with one cursor a level instead of recursion (the kernel never
    recurses, tools/build/stackcheck.py): children before their table, as before."""
    cdef uint64_t tables[4]                     # tables[l]: the level-l table being walked
    cdef int next_entry[4]                      # and its next entry
    cdef int l = level
    cdef uint64_t e
    tables[l], next_entry[l] = pa, 0
    while l <= level:
        if next_entry[l] == ENTRIES:            # done with this table: free it, go back up
            unpage(s, tables[l] & PTE_ADDR, True)
            s.table_pages -= 1
            l += 1
            continue
        e = table(tables[l])[next_entry[l]]
        next_entry[l] += 1
        if not (e & PTE_PRESENT):
            continue
        if l == 1 or (e & PTE_HUGE):
            if e & PTE_OWNED:
                unpage(s, e & PTE_ADDR, True)
        else:                                   # a table below: walk it first
            l -= 1
            tables[l], next_entry[l] = e, 0

cdef void destroy(AddressSpace* s) noexcept nogil:
    cdef uint64_t* top = table(s.pml4)
    cdef int i
    if s == &kspace or is_active(s):
        return
    for i in range(KERNEL_SLOT):
        if top[i] & PTE_PRESENT:
            free_tree(s, top[i], 3)
    unpage(s, s.pml4, True)
    heap.kfree(s)

cdef void activate(AddressSpace* s) noexcept nogil:
    global current
    if s != current:
        current = s
        hal.write_cr(3, s.pml4)

cdef AddressSpace* active() noexcept nogil:
    return current

cdef AddressSpace* kernel_space() noexcept nogil:
    return &kspace

cdef bint user_range_ok(AddressSpace* s, uint64_t va, uint64_t n, bint write) noexcept nogil:
    cdef uint64_t page, end
    cdef uint32_t f
    if n == 0:
        return va < USER_TOP
    end = va + n
    if end < va or end > USER_TOP:
        return False
    page = va & ~<uint64_t>(pmm.PAGE_SIZE - 1)
    while page < end:
        if not translate(s, page, NULL, &f) or not (f & MAP_USER):
            return False
        if write and not (f & MAP_WRITE):
            return False
        page += pmm.PAGE_SIZE
    return True

# ---- the kernel's own space -----------------------------------------------
cdef bint map_direct(uint64_t max_phys) noexcept nogil:
    """All of [0, max_phys) at DIRECT_MAP in 2 MiB pages, writable, NX, global."""
    cdef uint64_t pa = 0, va, pd
    cdef uint64_t* pdpt
    cdef uint64_t* pd_table
    while pa < max_phys:
        va = DIRECT_MAP + pa
        pdpt = table(table(kspace.pml4)[index(va, 4)])
        if not (pdpt[index(va, 3)] & PTE_PRESENT):
            pd = pmm.alloc_zeroed(1)
            if pd == 0:
                return False
            pdpt[index(va, 3)] = pd | PTE_PRESENT | PTE_WRITE
        pd_table = table(pdpt[index(va, 3)])
        pd_table[index(va, 2)] = pa | PTE_PRESENT | PTE_WRITE | PTE_HUGE | PTE_GLOBAL | PTE_NX
        pa += HUGE_2M
    return True

cdef bint map_image() noexcept nogil:
    """The kernel image in 4 KiB pages: text RX, rodata R, data/bss RW."""
    cdef hal.KernelLayout k
    cdef uint64_t va
    cdef uint32_t flags
    hal.kernel_layout(&k)
    va = k.start
    while va < k.end:
        if va < k.text_end:
            flags = MAP_EXEC | MAP_GLOBAL
        elif va < k.rodata_end:
            flags = MAP_GLOBAL
        else:
            flags = MAP_WRITE | MAP_GLOBAL
        if map(&kspace, va, va - KERNEL_VMA, flags) != VMM_OK:
            return False
        va += pmm.PAGE_SIZE
    return True

cdef bint init_kernel(uint64_t max_phys) noexcept nogil:
    global current
    cdef uint64_t* top
    cdef uint64_t pdpt
    cdef int i
    memset(&kspace, 0, sizeof(AddressSpace))
    kspace.pml4 = pmm.alloc_zeroed(1)
    if kspace.pml4 == 0:
        return False
    top = table(kspace.pml4)
    for i in range(KERNEL_SLOT, ENTRIES):
        pdpt = pmm.alloc_zeroed(1)
        if pdpt == 0:
            return False
        top[i] = pdpt | PTE_PRESENT | PTE_WRITE
    max_phys = (max_phys + HUGE_2M - 1) & ~<uint64_t>(HUGE_2M - 1)
    if not map_direct(max_phys) or not map_image():
        return False
    current = NULL                  # new tables: load CR3 even if kspace was active (hosted resets)
    activate(&kspace)
    hal.write_cr(0, hal.read_cr(0) | CR0_WP)     # read-only pages bind ring 0 too
    return True

# ---- hosted helpers --------------------------------------------------------
cdef AddressSpace* as_ptr(uint64_t handle):
    return &kspace if handle == 0 else <AddressSpace*>handle

def py_init_kernel(uint64_t max_phys=0):
    return init_kernel(max_phys)

def py_create():
    return <uint64_t>create()

def py_create_for(uint64_t owner):
    """A space charged to the Account at address owner (account.py_pointer)."""
    return <uint64_t>create_for(<Account*>owner)

def py_destroy(uint64_t handle):
    destroy(as_ptr(handle))

def py_map(uint64_t handle, uint64_t va, uint64_t pa, uint32_t flags):
    return map(as_ptr(handle), va, pa, flags)

def py_map_new(uint64_t handle, uint64_t va, uint64_t n, uint32_t flags):
    return map_new(as_ptr(handle), va, n, flags)

def py_unmap(uint64_t handle, uint64_t va):
    cdef uint64_t pa = 0
    cdef int err = unmap(as_ptr(handle), va, &pa)
    return (err, pa)

def py_translate(uint64_t handle, uint64_t va):
    cdef uint64_t pa = 0
    cdef uint32_t f = 0
    if not translate(as_ptr(handle), va, &pa, &f):
        return None
    return (pa, f)

def py_counts(uint64_t handle):
    cdef AddressSpace* s = as_ptr(handle)
    return (s.table_pages, s.user_pages)

def py_user_range_ok(uint64_t handle, uint64_t va, uint64_t n, bint write):
    return user_range_ok(as_ptr(handle), va, n, write)

def py_activate(uint64_t handle):
    activate(as_ptr(handle))
