"""TagFS on a fresh simulated machine, and a Python model to compare it with."""
from kwecli.hosted import new_volume  # noqa: F401  (the tests' way to a fresh volume)


def snapshot(v):
    """{file id: (contents, sorted tags)}: everything a user can see."""
    return {f: (v.read(f), sorted(v.tags(f))) for f in v.files()}


def assert_clean(v):
    problems, details = v.fsck()
    assert problems == 0, details["log"]
    return details
