# Poisoning for the hosted sanitizer build (runtime/sanitize.h): the simulated
# RAM's allocators mark free memory and guard zones so ASan reports any access
# to them.  No-ops in the kernel and the ordinary hosted build.
cdef extern from "sanitize.h" nogil:
    enum: KWE_ASAN
    void poison "kwe_poison"(const void* p, size_t n)
    void unpoison "kwe_unpoison"(const void* p, size_t n)
    bint is_poisoned "kwe_is_poisoned"(const void* p)
