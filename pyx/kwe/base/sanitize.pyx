# See sanitize.pxd.  Hosted: whether this build is the ASan one.

def py_enabled():
    return bool(KWE_ASAN)
