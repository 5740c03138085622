# See errors.pxd.
from libc.stdint cimport int64_t

cdef extern from "kwe_errors.h":
    struct kwe_error:
        long code
        const char* name
        const char* meaning
    enum:
        KWE_ERROR_COUNT
    const kwe_error kwe_errors[]

cdef const kwe_error* find(int64_t code) noexcept nogil:
    cdef int i
    for i in range(KWE_ERROR_COUNT):
        if kwe_errors[i].code == code:
            return &kwe_errors[i]
    return NULL

cdef const char* name(int64_t code) noexcept nogil:
    cdef const kwe_error* e = find(code)
    return e.name if e != NULL else NULL

cdef const char* meaning(int64_t code) noexcept nogil:
    cdef const kwe_error* e = find(code)
    return e.meaning if e != NULL else NULL

# ---- hosted ---------------------------------------------------------------------------------
def py_table():
    """[(code, name, meaning)] as the kernel sees it."""
    return [(kwe_errors[i].code, kwe_errors[i].name.decode(), kwe_errors[i].meaning.decode())
            for i in range(KWE_ERROR_COUNT)]
