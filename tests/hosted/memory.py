"""A fresh simulated machine (see kwecli.hosted)."""
from kwecli.hosted import KERNEL, MiB, e820, fresh

E820 = e820(16 * MiB)
