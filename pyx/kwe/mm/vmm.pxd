# Virtual memory: 4-level x86-64 page tables.
#
# Layout (the upper half is the kernel's, shared by every address space:
# all 256 kernel PML4 slots get their PDPT at boot, so a kernel mapping made
# later shows up everywhere without touching any other PML4):
#   0x0000000000001000 .. USER_TOP       user space (per address space)
#   DIRECT_MAP   0xFFFF800000000000      all physical memory, 2 MiB pages
#   KMAP_BASE    0xFFFFC00000000000      kernel mappings made at run time
#   KSTACK_BASE  0xFFFFFF0000000000      kernel stacks, each over a guard page
#   KERNEL_VMA   0xFFFFFFFF80000000      the kernel image (text RX, rest NX)
from libc.stdint cimport uint32_t, uint64_t
from kwe.mm.account cimport Account

cdef extern from *:
    """
    #define KWE_USER_TOP    0x0000800000000000ULL
    #define KWE_DIRECT_MAP  0xFFFF800000000000ULL
    #define KWE_KMAP_BASE   0xFFFFC00000000000ULL
    #define KWE_KSTACK_BASE 0xFFFFFF0000000000ULL
    #define KWE_KERNEL_VMA  0xFFFFFFFF80000000ULL
    """
    const uint64_t USER_TOP "KWE_USER_TOP"
    const uint64_t DIRECT_MAP "KWE_DIRECT_MAP"
    const uint64_t KMAP_BASE "KWE_KMAP_BASE"
    const uint64_t KSTACK_BASE "KWE_KSTACK_BASE"
    const uint64_t KERNEL_VMA "KWE_KERNEL_VMA"

cdef enum:
    # mapping flags (the API; PTE bits stay inside vmm.pyx)
    MAP_WRITE = 0x01
    MAP_USER = 0x02
    MAP_EXEC = 0x04
    MAP_OWNED = 0x08            # the frame belongs to the mapping: freed on unmap/destroy
    MAP_GLOBAL = 0x10
    MAP_NOCACHE = 0x20
    # results
    VMM_OK = 0
    VMM_NO_MEMORY = -1
    VMM_EXISTS = -2
    VMM_NOT_MAPPED = -3
    VMM_BAD_ADDRESS = -4        # non-canonical, unaligned, or user/kernel half mismatch
    VMM_HUGE_PAGE = -5          # the address is inside a 2 MiB/1 GiB mapping

cdef struct AddressSpace:
    uint64_t pml4               # physical address of the top table
    uint64_t table_pages        # page-table pages below the user half's PML4 slots
    uint64_t user_pages         # user pages mapped
    Account* owner              # charged RES_PAGES for its own pages (NULL: the kernel)

# The kernel's space: identity of all RAM at DIRECT_MAP (up to max_phys) and
# the kernel image with per-section permissions; becomes the active one.
cdef bint init_kernel(uint64_t max_phys) noexcept nogil
cdef AddressSpace* kernel_space() noexcept nogil
# A new user space (kernel half shared); NULL when memory runs out.
cdef AddressSpace* create() noexcept nogil
# The same, every page it allocates for itself (its top table, the user half's
# tables, MAP_OWNED pages) charged to owner's RES_PAGES: VMM_NO_MEMORY past its limit.
cdef AddressSpace* create_for(Account* owner) noexcept nogil
# Free every page-table page and every MAP_OWNED page of the user half.
# Must not be the active space.
cdef void destroy(AddressSpace* s) noexcept nogil
cdef int map(AddressSpace* s, uint64_t va, uint64_t pa, uint32_t flags) noexcept nogil
# Unmap one page; its frame is freed if it was MAP_OWNED.  pa_out may be NULL.
cdef int unmap(AddressSpace* s, uint64_t va, uint64_t* pa_out) noexcept nogil
# Physical address and MAP_* flags of va (any page size); False if unmapped.
cdef bint translate(AddressSpace* s, uint64_t va, uint64_t* pa, uint32_t* flags) noexcept nogil
# Allocate n fresh zeroed pages and map them at va (MAP_OWNED added).
cdef int map_new(AddressSpace* s, uint64_t va, uint64_t n, uint32_t flags) noexcept nogil
cdef void activate(AddressSpace* s) noexcept nogil
cdef AddressSpace* active() noexcept nogil
# Is [va, va+n) all user-accessible (and writable if write) in s?
cdef bint user_range_ok(AddressSpace* s, uint64_t va, uint64_t n, bint write) noexcept nogil
