"""fs: TagFS, the tag-queried journaled filesystem (docs/tagfs.md).

Owns the journal, the block cache with per-operation rollback (bcache), B+trees (btree),
files and tags (tagfs), queries (tagquery), the checker (fsck), the kernel's root volume
(rootfs) and, hosted only, the Python face the tools use (tagfs_host).
May use: every part before it (common .. dev).
"""
