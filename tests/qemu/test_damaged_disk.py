"""The kernel on damaged disks (issue 12): a sample of the disk fuzzer's
damage, booted.  The kernel must end by itself (no panic, no CPU fault), and
its mount and fsck must say what the hosted code says of the same bytes."""
import pytest

from kwecli import fuzz


@pytest.mark.parametrize("seed", range(4))
def test_the_kernel_on_a_damaged_disk_agrees_with_the_hosted_code(seed, capsys):
    assert fuzz.disk_boot(seed), capsys.readouterr().out
