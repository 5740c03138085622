# Every interrupt and exception arrives here (runtime/isr.S -> kwe_trap).
# CPU exceptions print a full register dump; in ring 0 that ends the
# machine with EXIT_CPU_FAULT, in ring 3 the user-fault handler (installed
# by the process layer) decides, normally by killing only that process.
# Other vectors go to the handler registered for them (IRQs, ...).
from libc.stdint cimport uint64_t

cdef struct TrapFrame:           # the stack layout runtime/isr.S builds
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax
    uint64_t vector, error
    uint64_t rip, cs, rflags, rsp, ss   # pushed by the CPU

ctypedef void (*TrapHandler)(TrapFrame* f) noexcept nogil

cdef enum:
    VEC_DIVIDE = 0
    VEC_DEBUG = 1
    VEC_NMI = 2
    VEC_BREAKPOINT = 3
    VEC_INVALID_OPCODE = 6
    VEC_DOUBLE_FAULT = 8
    VEC_GENERAL_PROTECTION = 13
    VEC_PAGE_FAULT = 14
    VEC_MACHINE_CHECK = 18
    VEC_IRQ_BASE = 32

cdef void init() noexcept nogil
cdef void set_handler(int vector, TrapHandler h) noexcept nogil
# Called for an exception raised in ring 3.
cdef void set_user_fault_handler(TrapHandler h) noexcept nogil
# Called before returning to ring 3 from any trap (preemption point).
cdef void set_return_hook(TrapHandler h) noexcept nogil
cdef bint from_user(TrapFrame* f) noexcept nogil
cdef const char* exception_name(uint64_t vector) noexcept nogil
cdef void dump(TrapFrame* f) noexcept nogil
# Dump and end the machine (EXIT_CPU_FAULT): what any ring-0 exception gets.
cdef void fatal(TrapFrame* f) noexcept nogil
cdef uint64_t count(int vector) noexcept nogil
