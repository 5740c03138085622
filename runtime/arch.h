/*
 * The instructions Cython cannot write: port I/O, control and model-specific
 * registers, TSC, CPUID, interrupts on/off, halt.  Only pyx/kwe/hal.pyx
 * includes this; everything else reaches the machine through kwe.hal.
 */
#ifndef KWE_ARCH_H
#define KWE_ARCH_H
#include <stdint.h>
#include "isa.h"

static inline void arch_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void arch_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void arch_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t arch_inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t arch_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t arch_inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t arch_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void arch_cpuid(uint32_t leaf, uint32_t sub, uint32_t *r) { isa_cpuid(leaf, sub, r); }
static inline uint64_t arch_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void arch_wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define ARCH_CR(n) \
    static inline uint64_t arch_read_cr##n(void) { uint64_t v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    static inline void arch_write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
ARCH_CR(0)
ARCH_CR(2)
ARCH_CR(3)
ARCH_CR(4)

static inline uint64_t arch_read_rflags(void) { uint64_t v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }
static inline uint64_t arch_read_rsp(void) { uint64_t v; __asm__ volatile("mov %%rsp, %0" : "=r"(v)); return v; }
static inline uint64_t arch_read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }
static inline void arch_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void arch_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void arch_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* sti takes effect after the next instruction, so no interrupt is lost between the two */
static inline void arch_sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
/* an interrupt window: one pending interrupt (a timer tick) is taken at the nop */
static inline void arch_sti_nop_cli(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline void arch_pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void arch_invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void arch_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void arch_mfence(void) { __asm__ volatile("mfence" ::: "memory"); }
/* Device registers through an uncached mapping: one 32-bit access each, never
 * merged, split or moved across other memory accesses by the compiler (the
 * "memory" clobber: descriptor writes land before the tail register write). */
static inline uint32_t arch_mmio_read32(uint64_t va) {
    uint32_t v;
    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(va) : "memory");
    return v;
}
static inline void arch_mmio_write32(uint64_t va, uint32_t v) {
    __asm__ volatile("movl %0, (%1)" :: "r"(v), "r"(va) : "memory");
}

/* Descriptor tables.  The packed pseudo-descriptor lives on the stack. */
struct __attribute__((packed)) arch_dtr { uint16_t limit; uint64_t base; };
static inline void arch_lgdt(void *base, uint16_t limit) {
    struct arch_dtr d = { limit, (uint64_t)base };
    __asm__ volatile("lgdt %0" :: "m"(d) : "memory");
}
static inline void arch_lidt(void *base, uint16_t limit) {
    struct arch_dtr d = { limit, (uint64_t)base };
    __asm__ volatile("lidt %0" :: "m"(d) : "memory");
}
static inline void arch_ltr(uint16_t sel) { __asm__ volatile("ltr %0" :: "r"(sel)); }
/* Load CS with a far return, then the data segments. */
static inline void arch_reload_segments(uint16_t cs, uint16_t ds) {
    __asm__ volatile(
        "pushq %q0\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w1, %%ds\n\t"
        "movw %w1, %%es\n\t"
        "movw %w1, %%ss\n\t"
        "movw %w2, %%fs\n\t"
        "movw %w2, %%gs\n\t"
        :: "r"((uint64_t)cs), "r"(ds), "r"(0) : "rax", "memory");
}
/* FPU/SSE state: 512 bytes, 16-byte aligned. */
static inline void arch_fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory"); }
static inline void arch_fxrstor(void *area) { __asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory"); }

/* Continue on another stack: fn must never return. */
static inline __attribute__((noreturn)) void arch_call_on_stack(uint64_t top, void (*fn)(void)) {
    __asm__ volatile("mov %0, %%rsp\n\txor %%ebp, %%ebp\n\tcall *%1\n\tud2" :: "r"(top), "r"(fn) : "memory");
    __builtin_unreachable();
}

/* ATA data transfers: count 16-bit words through one port. */
static inline void arch_insw(uint16_t port, void *buf, uint64_t count) {
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}
static inline void arch_outsw(uint16_t port, const void *buf, uint64_t count) {
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

extern char trap_stubs[], trap_return[], syscall_entry[];
extern uint64_t kwe_syscall_stack;
void switch_context(uint64_t *save_rsp, uint64_t load_rsp);
static inline uint64_t arch_trap_stub(int vector) { return (uint64_t)trap_stubs + 16 * (uint64_t)vector; }

#endif
