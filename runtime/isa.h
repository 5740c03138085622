/*
 * The two unprivileged instructions that tell which instruction sets code
 * may use: CPUID (what the CPU has) and XGETBV (which register state the
 * OS saves, so may be used).  Unlike arch.h, fine in ring 3: `common`
 * includes it, and common runs in user programs too.
 */
#ifndef KWE_ISA_H
#define KWE_ISA_H
#include <stdint.h>

static inline void isa_cpuid(uint32_t leaf, uint32_t sub, uint32_t *r) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
/* Only valid where CPUID.1:ECX.OSXSAVE says the OS turned XSAVE on. */
static inline uint64_t isa_xgetbv(uint32_t idx) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
    return ((uint64_t)hi << 32) | lo;
}
#endif
