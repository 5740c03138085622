# kernel_notify(workflow_id, flags): the one system call (runtime/syscall.S
# -> kwe_syscall).  SUBMIT hands the EventRing's new events to the Guide and
# runs it at once; WAIT blocks until workflow_id's run completes (0: until
# there is any result to read); YIELD gives up the CPU.  Returns the number
# of events submitted, or an E_* code (E_INVAL for unknown flags, E_NOENT
# for WAIT on a workflow that does not exist, E_CORRUPT for a broken ring).
cdef void init() noexcept nogil
