/*
 * The Linux side of the bench: the same work KWE's bench program does, timed
 * the same way (the emulated TSC, read in the program), under the same QEMU.
 * Built static against liburing and zlib and run as the only program of a
 * busybox initramfs; every figure is a line on the serial console:
 *
 *   LINUXREF <row> <n> <median> <min> <max>     cycles per op over ROUNDS rounds
 *   LINUXREF done
 *
 * Every completion is read and checked by the program, as KWE's bench reads
 * its results: an io_uring op counts only once its CQE has been consumed.
 * Ends through isa-debug-exit (port 0xf4) so QEMU reports a status.
 */
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define ROUNDS 7
#define MAX_BATCH 4096

static int quick;

static inline uint64_t tsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void fail(const char *what, int err) {
    printf("LINUXREF error %s %d\n", what, err);
    fflush(stdout);
    outb(1, 0xf4);
    exit(1);
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ROUNDS samples of cycles/op -> one line: median, min, max. */
static void report(const char *row, unsigned n, uint64_t *s) {
    qsort(s, ROUNDS, sizeof *s, by_value);
    printf("LINUXREF %s %u %llu %llu %llu\n", row, n, (unsigned long long)s[ROUNDS / 2],
           (unsigned long long)s[0], (unsigned long long)s[ROUNDS - 1]);
    fflush(stdout);
}

static void getppid_round_trip(unsigned iters) {
    uint64_t s[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = tsc();
        for (unsigned i = 0; i < iters; i++)
            if (syscall(SYS_getppid) <= 0)
                fail("getppid", 0);
        s[r] = (tsc() - t0) / iters;
    }
    report("getppid", 1, s);
}

/* n NOPs (linked into a chain when `link`), one submit-and-wait, every CQE read. */
static uint64_t uring_batch(struct io_uring *ring, unsigned n, int link) {
    struct io_uring_cqe *cqe;
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        io_uring_prep_nop(sqe);
        sqe->user_data = i;
        if (link && i + 1 < n)
            sqe->flags |= IOSQE_IO_LINK;
    }
    int rc = io_uring_submit_and_wait(ring, n);
    if (rc != (int)n)
        fail("submit", rc);
    for (unsigned i = 0; i < n; i++) {
        if (io_uring_peek_cqe(ring, &cqe) != 0 || cqe->res != 0 || cqe->user_data >= n)
            fail("cqe", (int)i);
        io_uring_cqe_seen(ring, cqe);
    }
    return tsc() - t0;
}

static void uring_rows(struct io_uring *ring, const char *row, int link) {
    static const unsigned sizes[] = {1, 8, 64, 512, 4096};
    uint64_t s[ROUNDS];
    for (unsigned k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        unsigned n = sizes[k], reps = (quick ? 2048 : 16384) / n + 2;
        uring_batch(ring, n, link);                      /* warm up */
        for (int r = 0; r < ROUNDS; r++) {
            uint64_t total = 0;
            for (unsigned i = 0; i < reps; i++)
                total += uring_batch(ring, n, link);
            s[r] = total / ((uint64_t)reps * n);
        }
        report(row, n, s);
    }
}

/* CRC-32 of 64 bytes as a Linux program gets it: zlib in user space, no
 * system call (Linux offers no cheaper way through the kernel), every
 * value checked against the first pass's. */
static void crc_user(unsigned iters) {
    static unsigned char buf[64 * MAX_BATCH];
    static uLong want[MAX_BATCH];
    uint64_t s[ROUNDS];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 13);
    for (unsigned i = 0; i < MAX_BATCH; i++)
        want[i] = crc32(0, buf + 64 * i, 64);
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = tsc();
        for (unsigned i = 0; i < iters; i++)
            if (crc32(0, buf + 64 * (i % MAX_BATCH), 64) != want[i % MAX_BATCH])
                fail("crc32", (int)i);
        s[r] = (tsc() - t0) / iters;
    }
    report("crc_user", 1, s);
}

/* One byte there and back between two processes through two pipes. */
static void pipe_ping_pong(unsigned iters) {
    int there[2], back[2];
    char c = 'x';
    uint64_t s[ROUNDS];
    if (pipe(there) || pipe(back))
        fail("pipe", 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(there[1]);                                 /* else its read never sees the end */
        close(back[0]);
        while (read(there[0], &c, 1) == 1 && write(back[1], &c, 1) == 1)
            ;
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = tsc();
        for (unsigned i = 0; i < iters; i++)
            if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
                fail("ping-pong", (int)i);
        s[r] = (tsc() - t0) / iters;
    }
    close(there[1]);
    waitpid(pid, NULL, 0);
    report("pipe_pingpong", 1, s);
}

int main(int argc, char **argv) {
    struct io_uring ring;
    quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (ioperm(0xf4, 4, 1))
        fail("ioperm", 0);
    int rc = io_uring_queue_init(MAX_BATCH, &ring, 0);
    if (rc)
        fail("io_uring_queue_init", rc);
    getppid_round_trip(quick ? 2000 : 20000);
    uring_rows(&ring, "uring_nop", 0);
    uring_rows(&ring, "uring_link", 1);
    pipe_ping_pong(quick ? 200 : 2000);
    crc_user(quick ? 4096 : 65536);
    printf("LINUXREF done\n");
    fflush(stdout);
    outb(0, 0xf4);                                       /* QEMU exits: status 0 */
    return 0;
}
