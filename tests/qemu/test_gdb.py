"""GDB attaches to the booted kernel, breaks on a Cython function, reads variables."""
import re
import struct

from kwecli import gdb


def test_break_on_cython_function_and_read_arguments():
    data = b"hello, gdb"
    # crc=table: no boot-time timing of the two CRC32 paths, whose calls would stop here first
    out = gdb.batch([
        "kbreak operations.crc32",
        # only the two calls of interest: not TagFS's block checksums or the program files' CRCs at boot
        "condition 1 __pyx_v_n == 9 || __pyx_v_n == 10",
        "continue",
        "info symbol $pc",
        "print __pyx_v_n",
        "continue",
        "print __pyx_v_n",
        "bt 3",
    ], cmdline="run=crc32 crc=table", inputs={"opt/kwe/input": struct.pack("<I", len(data)) + data})
    assert "kbreak: operations.crc32 is __pyx_f_3kwe_6common_10operations_crc32" in out, out
    assert "__pyx_f_3kwe_6common_10operations_crc32 in section .text" in out, out
    # first call: the check value "123456789"; second: our 10-byte record
    assert "$1 = 9" in out and "$2 = 10" in out, out
    assert "operations.pyx" in out and "run_crc32" in out, out
    assert "cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n)" in out, out   # .pyx source shown


def test_kbreak_by_bare_function_name():
    out = gdb.batch(["kbreak kmain", "continue", "info symbol $pc"], cmdline="run=hello")
    assert "kmain in section .text" in out, out


def test_a_user_page_fault_is_handled_on_the_process_kernel_stack():
    # Issue 11: #PF ran on an IST stack, which the CPU restarts at its top on
    # every #PF: one nested in the handling of another overwrote its frames.
    out = gdb.batch(["kbreak proc.on_user_fault", "continue",
                     "printf \"frame at %lx\\n\", (unsigned long)__pyx_v_f",
                     "printf \"vector %lu\\n\", __pyx_v_f->vector"],
                    cmdline="run=init init=fault args=pf")
    assert "vector 14" in out, out
    frame = int(re.search(r"frame at ([0-9a-f]+)", out).group(1), 16)
    assert 0xFFFFFF0000000000 <= frame < 0xFFFFFF8000000000, out      # KSTACK region, not .bss


def test_an_interrupt_from_ring3_with_ac_set_enters_the_kernel_with_ac_clear():
    # Issue 11: interrupt entry clears IF, TF, NT and RF but not AC, and AC
    # switches SMAP off: trap_common must clear it (rflags spins with AC set).
    out = gdb.batch(["kbreak kwe_trap",
                     "condition 1 (__pyx_v_f->cs & 3) == 3 && (__pyx_v_f->rflags & 0x40000) != 0",
                     "continue",
                     "printf \"ring 3 rflags %lx\\n\", __pyx_v_f->rflags",
                     "info registers eflags"],
                    cmdline="run=init init=rflags args=2,300")
    user = re.search(r"ring 3 rflags ([0-9a-f]+)", out)
    kernel = re.search(r"eflags\s+0x([0-9a-f]+)", out)
    assert user and kernel, out
    assert int(user.group(1), 16) & 0x40000 and not int(kernel.group(1), 16) & 0x40000, out


def test_kbreak_of_what_is_no_function_says_so_in_one_line():
    out = gdb.batch(["kbreak no_such_function", "kbreak operations.no_such_function",
                     "kbreak kwe_errors",                # a C variable (runtime's table), not a function
                     "kbreak crc32(", "kbreak", "info breakpoints"])
    assert "Python Exception" not in out and "Traceback" not in out, out
    for name in ("no_such_function", "operations.no_such_function", "kwe_errors"):
        assert f"kbreak: no function '{name}' in the kernel" in out, out
    assert out.count("usage: kbreak [MODULE.]FUNCTION") == 2, out
    assert "No breakpoints" in out, out


def test_debug_build_stops_at_a_pyx_line_and_shows_its_locals():
    """Against build-debug/ (-Og), when it has been built: a cold debug build
    takes minutes, too long for the suite to start itself.  At -O2 the same
    steps find n <optimized out> and `next` going back to the loop's test."""
    import pytest
    from kwecli.paths import BUILD_DEBUG, ROOT, image
    if not image(BUILD_DEBUG).exists():
        pytest.skip("no build-debug/kwe.img: tools/kwe build --debug first")
    source = (ROOT / "pyx/kwe/common/operations.pyx").read_text().splitlines()
    start = next(i for i, l in enumerate(source) if l.startswith("cdef uint32_t crc32("))
    mix = next(i for i, l in enumerate(source[start:], start + 1) if l.startswith("        crc = (table[7]"))
    step = next(i for i, l in enumerate(source[mix:], mix + 1) if l == "        n -= 8")
    out = gdb.batch([f"hbreak operations.pyx:{mix}", "continue", "info line *$pc",
                     "print __pyx_v_n", "print __pyx_v_lo", "next", "next", "info line *$pc"],
                    cmdline="run=hello", build=BUILD_DEBUG)
    lines = [int(n) for n in re.findall(r'^Line (\d+) of "kwe/common/operations.pyx"', out, re.M)]
    # stopped in that statement (gcc gives its loads its last lines), then on, in source order
    assert len(lines) == 2 and mix <= lines[0] < step - 1 and lines[1] == step, out
    assert re.search(r"^\$1 = \d+$", out, re.M) and re.search(r"^\$2 = \d+$", out, re.M), out
