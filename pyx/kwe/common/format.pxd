# printf-style formatting without varargs (Cython cannot define a variadic
# function): the arguments arrive as an array of up to MAX_ARGS uint64_t.
#   %d %i  signed decimal      %u  unsigned decimal    %x %X  hex
#   %p     0x + 16 hex digits  %s  C string (pass <uint64_t>ptr)   %c  char
#   %e     a status code as its name and meaning ("E_NOENT: no such file, ...")
#   %%     a percent sign.  Flags: '0' and '-', a width, and the length
#   modifiers l/ll/z/h, which are accepted and ignored (every argument is
#   64 bits; %d reinterprets it as int64, so negative C ints print right).
from libc.stdint cimport uint64_t

cdef enum:
    MAX_ARGS = 8

ctypedef void (*Sink)(void* ctx, char c) noexcept nogil

# Format fmt with args[0:nargs] into sink; returns the number of chars emitted.
cdef size_t format_to(Sink sink, void* ctx, const char* fmt,
                      const uint64_t* args, int nargs) noexcept nogil
# Format into buf (always NUL-terminated when cap > 0).  Returns the length
# the whole output would have had, as snprintf does.
cdef size_t format_buf(char* buf, size_t cap, const char* fmt,
                       const uint64_t* args, int nargs) noexcept nogil
