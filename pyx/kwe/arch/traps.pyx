# See traps.pxd.
from libc.stdint cimport uint32_t, uint64_t
from kwe.base cimport hal, power
from kwe.arch cimport idt, gdt
from kwe.mm cimport kstack
from kwe.debug cimport trace
from kwe.base.console cimport kprintf, kputs
from kwe.debug.panic cimport dump_backtrace

cdef TrapHandler handlers[256]
cdef uint64_t counts[256]
cdef TrapHandler user_fault_handler = NULL
cdef TrapHandler return_hook = NULL

cdef void init() noexcept nogil:
    idt.init()

cdef void set_handler(int vector, TrapHandler h) noexcept nogil:
    handlers[vector] = h

cdef void set_user_fault_handler(TrapHandler h) noexcept nogil:
    global user_fault_handler
    user_fault_handler = h

cdef void set_return_hook(TrapHandler h) noexcept nogil:
    global return_hook
    return_hook = h

cdef bint from_user(TrapFrame* f) noexcept nogil:
    return (f.cs & 3) == 3

cdef uint64_t count(int vector) noexcept nogil:
    return counts[vector]

cdef const char* exception_name(uint64_t v) noexcept nogil:
    if v == 0: return b"#DE divide error"
    if v == 1: return b"#DB debug"
    if v == 2: return b"NMI"
    if v == 3: return b"#BP breakpoint"
    if v == 4: return b"#OF overflow"
    if v == 5: return b"#BR bound range"
    if v == 6: return b"#UD invalid opcode"
    if v == 7: return b"#NM device not available"
    if v == 8: return b"#DF double fault"
    if v == 10: return b"#TS invalid TSS"
    if v == 11: return b"#NP segment not present"
    if v == 12: return b"#SS stack fault"
    if v == 13: return b"#GP general protection"
    if v == 14: return b"#PF page fault"
    if v == 16: return b"#MF x87 error"
    if v == 17: return b"#AC alignment check"
    if v == 18: return b"#MC machine check"
    if v == 19: return b"#XM SIMD error"
    if v == 20: return b"#VE virtualization"
    if v == 21: return b"#CP control protection"
    return b"reserved exception"

cdef uint64_t pick(bint cond, const char* yes, const char* no) noexcept nogil:
    return <uint64_t>(yes if cond else no)

cdef void describe_page_fault(uint64_t error) noexcept nogil:
    kprintf(b"  page fault: %s %s in ring %d%s%s\n",
            pick(error & 1, b"protection violation", b"page not present"),
            pick(error & 2, b"on write", b"on read"),
            3 if error & 4 else 0,
            pick(error & 8, b", reserved bit set", b""),
            pick(error & 16, b", instruction fetch", b""))

cdef bint cr2_counts(TrapFrame* f) noexcept nogil:
    """CR2 may describe this fault: a #PF's address, or a #DF's when it is a
    #PF the CPU could not deliver (no room for its frame on an overflowed stack)."""
    return f.vector == VEC_PAGE_FAULT or f.vector == VEC_DOUBLE_FAULT

cdef void dump(TrapFrame* f) noexcept nogil:
    kprintf(b"KWE CPU EXCEPTION %s (vector %d) in ring %d\n",
            <uint64_t>exception_name(f.vector), f.vector, f.cs & 3)
    kprintf(b"  error=%p", f.error)
    if cr2_counts(f):
        kprintf(b" cr2=%p", hal.read_cr(2))
    kprintf(b"\n  rip=%p cs=%lx rflags=%p rsp=%p ss=%lx\n", f.rip, f.cs, f.rflags, f.rsp, f.ss)
    kprintf(b"  rax=%p rbx=%p rcx=%p rdx=%p\n", f.rax, f.rbx, f.rcx, f.rdx)
    kprintf(b"  rsi=%p rdi=%p rbp=%p r8=%p\n", f.rsi, f.rdi, f.rbp, f.r8)
    kprintf(b"  r9=%p r10=%p r11=%p r12=%p\n", f.r9, f.r10, f.r11, f.r12)
    kprintf(b"  r13=%p r14=%p r15=%p cr3=%p\n", f.r13, f.r14, f.r15, hal.read_cr(3))
    if f.vector == VEC_PAGE_FAULT:
        describe_page_fault(f.error)

cdef void fatal(TrapFrame* f) noexcept nogil:
    kputs(b"\n")
    if cr2_counts(f) and kstack.is_guard(hal.read_cr(2)):
        kputs(b"KWE: kernel stack overflow (guard page hit)\n")
    dump(f)
    dump_backtrace(f.rbp)
    power.power_off(power.EXIT_CPU_FAULT)

cdef void exception(TrapFrame* f) noexcept nogil:
    if f.vector == VEC_NMI and not from_user(f):
        kputs(b"NMI received; continuing\n")
        return
    if from_user(f) and user_fault_handler != NULL and f.vector != VEC_DOUBLE_FAULT \
            and f.vector != VEC_MACHINE_CHECK:
        user_fault_handler(f)
        return
    fatal(f)

cdef public void kwe_trap(TrapFrame* f) noexcept nogil:
    cdef uint64_t v = f.vector & 0xFF
    counts[v] += 1
    if v < VEC_IRQ_BASE:
        exception(f)
    elif handlers[v] != NULL:
        trace.record(trace.TR_IRQ, 0, 0, 0, 0, 0xFF, <uint32_t>v)
        handlers[v](f)
    else:
        kprintf(b"traps: unexpected vector %d\n", v)
    if return_hook != NULL and from_user(f):
        return_hook(f)

def py_reset():
    """Forget every handler and hook (hosted tests)."""
    global user_fault_handler, return_hook
    cdef int i
    for i in range(256):
        handlers[i] = NULL
        counts[i] = 0
    user_fault_handler = NULL
    return_hook = NULL

def py_trap(uint64_t vector, uint64_t error=0, uint64_t cs=0x08, uint64_t rip=0x1234):
    """Hosted helper: deliver a trap as if the CPU raised it."""
    cdef TrapFrame f
    f.r15 = f.r14 = f.r13 = f.r12 = f.r11 = f.r10 = f.r9 = f.r8 = 0
    f.rbp = 0
    f.rdi, f.rsi, f.rdx, f.rcx, f.rbx, f.rax = 6, 5, 4, 3, 2, 1
    f.vector, f.error, f.rip, f.cs, f.rflags, f.rsp, f.ss = vector, error, rip, cs, 0x202, 0x9000, 0x10
    kwe_trap(&f)
