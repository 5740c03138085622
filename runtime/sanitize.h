/*
 * Telling the hosted sanitizer build which bytes nobody may touch.
 *
 * The simulated machine's allocators (heap, PMM, block cache) hand out pieces
 * of one big RAM buffer, which ASan sees as a single valid object.  They mark
 * free memory and the guard zones between objects poisoned, so an overflow or
 * a use after free in kernel code running hosted is reported at the faulting
 * access.  Outside an ASan build (the kernel, the ordinary hosted build) these
 * are no-ops; the kernel has its own pattern checks (kwe.mm.heap).
 */
#ifndef KWE_SANITIZE_H
#define KWE_SANITIZE_H
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) && !defined(KWE_KERNEL) && !defined(KWE_USER)
#include <sanitizer/asan_interface.h>
#define KWE_ASAN 1
#define kwe_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define kwe_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define kwe_is_poisoned(p) __asan_address_is_poisoned((p))
#else
#define KWE_ASAN 0
#define kwe_poison(p, n) ((void)(p), (void)(n))
#define kwe_unpoison(p, n) ((void)(p), (void)(n))
#define kwe_is_poisoned(p) ((void)(p), 0)
#endif

#endif
