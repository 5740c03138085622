/*
 * Reference figures for tools/kwe bench, measured on the host in the same
 * run: a Linux system call round trip (getppid) and a process switch
 * round trip (two processes bouncing a byte through pipes).  Prints
 * "syscall CYCLES" and "switch CYCLES" (TSC cycles, the host's own).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int ab[2], ba[2];
    char c = 0;
    uint64_t t = rdtsc();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    printf("syscall %llu\n", (unsigned long long)((rdtsc() - t) / n));
    if (pipe(ab) || pipe(ba))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        for (long i = 0; i < n / 10; i++) {
            if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    t = rdtsc();
    for (long i = 0; i < n / 10; i++) {
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return 1;
    }
    printf("switch %llu\n", (unsigned long long)((rdtsc() - t) / (n / 10)));
    waitpid(pid, NULL, 0);
    return 0;
}
