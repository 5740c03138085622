# Workflow files (docs/workflows.md) from a user program: a file tagged
# `type=workflow name=NAME` found in TagFS, read by kwe.common.wflang,
# lowered to a graph (each `file "QUERY"` input becomes an OP_FS_GET of the
# one file the query matches) and run, every node reported as it ends.
# sh's `wf` builtin is these three.
cdef enum:
    TEXT_MAX = 65536            # bytes of a workflow file
    NODES_MAX = 1024            # nodes of one workflow file
    SHOW_MAX = 24               # output bytes shown per node (its size is shown too)

# Run the workflow called name (or the file whose id name is); prints each
# node's name, status, attempts, time and output, then the summary.  The
# run's status (E_OK when every node succeeded) or why it could not start.
cdef int run(const char* name) noexcept nogil
# Print the workflow's DAG: each node, its operation, input, parents, children.
cdef int show(const char* name) noexcept nogil
# Print the workflow files in TagFS.
cdef int list() noexcept nogil
