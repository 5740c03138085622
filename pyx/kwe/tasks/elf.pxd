# ELF64 executables for user programs: validation and loading.  validate()
# reads nothing outside the buffer and refuses anything the loader could not
# load safely; load() maps and fills the segments of a validated image.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.mm.vmm cimport AddressSpace

cdef enum:
    ELF_OK = 0
    ELF_TOO_SMALL = -1          # shorter than the ELF header
    ELF_BAD_MAGIC = -2
    ELF_NOT_ELF64 = -3          # class, data (little-endian) or version
    ELF_NOT_EXEC = -4           # not ET_EXEC (no shared objects, no PIE)
    ELF_NOT_X86_64 = -5
    ELF_BAD_PHDRS = -6          # program headers outside the file, wrong size, too many
    ELF_BAD_SEGMENT = -7        # file range outside the file, filesz > memsz, overflow
    ELF_BAD_ADDRESS = -8        # outside user space / below USER_IMAGE_BASE / into reserved areas
    ELF_OVERLAP = -9            # two segments share a page
    ELF_WX = -10                # writable and executable
    ELF_NO_SEGMENTS = -11
    ELF_BAD_ENTRY = -12         # entry point not in an executable segment
    ELF_TOO_BIG = -13           # memory image over MAX_IMAGE
    ELF_NO_MEMORY = -14
    MAX_PHDRS = 16
    MAX_IMAGE_MB = 64

cdef struct ElfInfo:
    uint64_t entry
    uint64_t lowest             # first byte of the image
    uint64_t highest            # one past the last byte
    uint32_t nsegments

cdef int validate(const uint8_t* image, uint64_t size, ElfInfo* info) noexcept nogil
# Map every PT_LOAD segment of a validated image into s (user pages, owned by s).
cdef int load(AddressSpace* s, const uint8_t* image, uint64_t size) noexcept nogil
cdef const char* error_name(int err) noexcept nogil
