/*
 * memcpy/memset/memmove/memcmp: GCC emits calls to these for struct copies
 * and zeroing even in freestanding code, so the kernel must define them
 * under exactly these names.  rep movsb/stosb are fast on every CPU since
 * Ivy Bridge (ERMSB), but an emulator (QEMU's TCG, our tested path) runs
 * a rep string instruction one element per step: moving 8 bytes a step
 * (movsq/stosq) and only the tail bytewise makes it 8 times cheaper there.
 */
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n) {
    void *d = dst;
    size_t words = n >> 3, tail = n & 7;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) :: "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(tail) :: "memory");
    return dst;
}

/* Small fills (the heap's guards and poison: a slab slot at a time) are
 * plain 8-byte stores, which an emulator runs as straight-line code; the
 * attribute keeps GCC from turning the loop back into a call to memset. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void fill_words(unsigned char *d, unsigned long pattern, size_t n) {
    for (; n >= 32; d += 32, n -= 32) {
        ((unsigned long *)d)[0] = pattern;
        ((unsigned long *)d)[1] = pattern;
        ((unsigned long *)d)[2] = pattern;
        ((unsigned long *)d)[3] = pattern;
    }
    for (; n >= 8; d += 8, n -= 8)
        *(unsigned long *)d = pattern;
    for (; n; d++, n--)
        *d = (unsigned char)pattern;
}

void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    size_t words = n >> 3, tail = n & 7;
    unsigned long pattern = (unsigned char)c * 0x0101010101010101UL;
    if (n < 1024 && ((unsigned long)dst & 7) == 0) {
        fill_words(dst, pattern, n);
        return dst;
    }
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(tail) : "a"(pattern) : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    if ((char *)dst <= (const char *)src || (char *)dst >= (const char *)src + n)
        return memcpy(dst, src, n);
    char *d = (char *)dst + n - 1;
    const char *s = (const char *)src + n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}
