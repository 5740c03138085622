# See power.pxd.
from libc.stdint cimport uint32_t
from kwe.base cimport hal

cdef enum:
    DEBUG_EXIT_PORT = 0xF4

cdef void power_off(uint32_t status) noexcept nogil:
    hal.irq_disable()
    hal.outl(DEBUG_EXIT_PORT, status)
    hal.halt_forever()          # outside QEMU: stop here
