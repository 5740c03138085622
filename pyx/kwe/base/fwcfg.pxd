# QEMU's fw_cfg device (ports 0x510/0x511): how the host hands the kernel its
# command line (opt/kwe/cmdline) and test inputs (opt/kwe/input) without
# rebuilding the disk image.  Items are read sequentially after a select.
from libc.stdint cimport uint8_t, uint16_t, uint32_t

cdef bint present() noexcept nogil
# Look a file up by name; fills its selector and size.
cdef bint find(const char* name, uint16_t* select, uint32_t* size) noexcept nogil
# Start reading an item from its first byte.
cdef void select(uint16_t sel) noexcept nogil
# Read the next n bytes of the selected item.
cdef void read(void* buf, uint32_t n) noexcept nogil
cdef uint32_t read_be32() noexcept nogil
cdef uint32_t read_le32() noexcept nogil
