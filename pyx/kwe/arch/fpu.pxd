# The FPU/SSE unit.  User state moves with the process (kwe.tasks.proc saves and
# restores it on every switch).  Kernel code is built without SSE; the few
# kernel functions that use it (kwe.decks.simd, kwe.common.crc_clmul) run between begin() and end(),
# which save the interrupted user state and give them a clean one (default
# MXCSR, so a process's unmasked FP exceptions cannot trap in the kernel).
cdef void init() noexcept nogil                 # capture the clean state (boot)
cdef const void* clean_state() noexcept nogil  # 512 bytes, fxsave format
cdef void begin() noexcept nogil
cdef void end() noexcept nogil
