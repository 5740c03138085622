# Reading a line from the console with editing, for the shell (and any
# program that asks a person something).  Keys: printable ASCII, backspace,
# left/right, Home/End and Ctrl-A/E, Ctrl-U (clear), Ctrl-K (to the end),
# up/down through the history, Tab completes the first word from the
# shell's commands and the programs in TagFS, Ctrl-C drops the line, Ctrl-D
# on an empty line is the end.  Output is only printable text, \r and \b,
# so the serial console and the VGA screen show the same.
cdef enum:
    LINE_MAX = 256              # bytes of a line, its NUL included
    HISTORY = 32
    PROGRAMS_MAX = 128
    NAME_MAX = 32

# Find the programs (type=program in TagFS) for completion and help.
cdef void init() noexcept nogil
# The next line, edited (kept in the history); NULL at Ctrl-D on an empty
# line or when the console cannot be read.  Valid until the next call.
cdef const char* read_line(const char* prompt) noexcept nogil
# The same without history or completion (text typed in).
cdef const char* read_plain(const char* prompt) noexcept nogil
cdef int nprograms() noexcept nogil
cdef const char* program(int i) noexcept nogil
