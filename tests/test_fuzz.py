"""A fixed-seed slice of `tools/kwe fuzz` (the full run is a million inputs
per target under ASan, not a timed test): every target, in the ordinary
hosted build, must end with 0 crashes, a sound heap and every account at 0."""
import pytest

from kwecli import fuzz


@pytest.mark.parametrize("target", sorted(fuzz.TARGETS))
def test_a_fixed_seed_slice_finds_nothing(target, capsys):
    assert fuzz.fuzz(target, seed=11, start=0, count=3000, use_asan=False), capsys.readouterr().out
    assert "0 crashes, 0 reports" in capsys.readouterr().out


def test_an_input_is_made_again_alone_from_its_target_seed_and_index():
    import random
    t = fuzz.Rle.__new__(fuzz.Rle)
    t.seeds, t.limit = [b"\x7f\x01abc"], 64
    a = [fuzz.make_input(random.Random(f"rle:5:{i}"), t) for i in range(50)]
    assert fuzz.make_input(random.Random("rle:5:37"), t) == a[37]
    assert len(set(a)) > 40


def test_a_crash_is_named_with_the_command_that_makes_it_again(capsys, monkeypatch):
    """A target that fails at input 700: the report names input 700."""
    monkeypatch.setattr(fuzz, "run_child", lambda name, seed, start, count, use_asan, progress:
                        fake_child(start, count, progress))
    assert not fuzz.fuzz("rle", seed=2, start=0, count=1000, use_asan=False)
    out = capsys.readouterr().out
    assert "FAILED at input 700" in out and "--start 700 --count 1 --no-asan" in out


def fake_child(start, count, progress):
    """What a child does with a target that dies at input 700."""
    import subprocess
    for i in range(start, start + count):
        if count <= fuzz.CHECKPOINT_EVERY or i % fuzz.CHECKPOINT_EVERY == 0:
            progress.write_text(str(i))
        if i == 700:
            return subprocess.CompletedProcess([], 3, "", "boom at 700\n")
    return subprocess.CompletedProcess([], 0, "", "")
