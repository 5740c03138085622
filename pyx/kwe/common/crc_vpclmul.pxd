# CRC-32/IEEE by folding 512 bits at a time (VPCLMULQDQ on AVX-512
# registers): for code outside the kernel only -- user programs and the
# hosted build.  The kernel keeps crc_clmul's 128-bit lanes: QEMU's TCG has
# no AVX-512, and saving AVX-512 state would grow every context switch.
# Compiled with AVX-512 (see pyx/kwe/meson.build): nothing here runs unless
# crc.wide_available() said yes.
from libc.stdint cimport uint8_t, uint32_t

# n >= 256; the same answers as operations.crc32.
cdef uint32_t crc32_vpclmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
