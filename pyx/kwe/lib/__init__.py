"""lib: kernel data structures that allocate (hashmap).

May use: common, base, mm.
"""
