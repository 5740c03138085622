# Ending the machine.  Under QEMU the isa-debug-exit device (port 0xF4) turns
# the status into QEMU's exit code ((status << 1) | 1); tools/kwe maps it
# back.  The statuses are the kernel's contract with the test harness.
from libc.stdint cimport uint32_t

cdef enum ExitStatus:
    EXIT_OK = 0             # clean shutdown
    EXIT_FAILED = 1         # a scenario or self-test reported failure
    EXIT_USAGE = 2          # bad kernel command line (unknown scenario ...)
    EXIT_PANIC = 3          # kernel panic
    EXIT_CPU_FAULT = 4      # CPU exception in ring 0
    EXIT_BOOT_FAILED = 126  # stage1/stage2 (boot/bootdefs.h)

cdef void power_off(uint32_t status) noexcept nogil
