# The kernel console: kprintf and friends.  Output goes to COM1 (with \n
# sent as \r\n for terminals) and to any extra sink registered (the VGA
# text console mirrors it).
from libc.stdint cimport uint64_t
from kwe.common.format cimport Sink

cdef void kputc(char c) noexcept nogil
cdef void kputs(const char* s) noexcept nogil
cdef void kprintf(const char* fmt, uint64_t a0=*, uint64_t a1=*, uint64_t a2=*,
                  uint64_t a3=*, uint64_t a4=*, uint64_t a5=*, uint64_t a6=*,
                  uint64_t a7=*) noexcept nogil
cdef void kvprintf(const char* fmt, const uint64_t* args, int nargs) noexcept nogil
# Mirror everything printed to another sink (e.g. VGA); NULL removes it.
cdef void set_mirror(Sink sink) noexcept nogil
