"""tools/kwe fs, as a user runs it: make an image, put files, tag, query,
get, fsck -- and the same commands on the built kwe.img."""

from conftest import kwe_fs
from kwecli.paths import IMAGE, ROOT


def test_the_fs_commands(tmp_path):
    img = tmp_path / "fs.img"
    assert "4096 blocks of 4 KiB" in kwe_fs("mkfs", img, "--size", "16M").stdout
    (tmp_path / "a.txt").write_bytes(b"alpha\n")
    (tmp_path / "b.bin").write_bytes(bytes(range(256)) * 100)
    a = int(kwe_fs("put", img, tmp_path / "a.txt", "type=text", "lang=en").stdout)
    b = int(kwe_fs("put", img, tmp_path / "b.bin", "type=binary").stdout)
    assert kwe_fs("query", img, "type=text OR type=binary").stdout.split() == [str(a), str(b)]
    kwe_fs("tag", img, b, "important")
    kwe_fs("untag", img, a, "lang=en")
    listing = kwe_fs("ls", img).stdout
    assert f"{a:6d}         6   user  type=text" in listing and "type=binary important" in listing
    assert kwe_fs("ls", img, "important").stdout.split()[0] == str(b)
    out = tmp_path / "copy.bin"
    kwe_fs("get", img, b, "-o", out)
    assert out.read_bytes() == bytes(range(256)) * 100
    assert "0 problems" in kwe_fs("fsck", img).stdout
    kwe_fs("rm", img, a)
    assert kwe_fs("query", img, "type=text").stdout.strip() == ""
    r = kwe_fs("get", img, 999, check=False)
    assert r.returncode == 1 and "no such file" in r.stderr


def test_the_built_image_holds_every_program_tagged():
    listing = kwe_fs("ls", IMAGE, "type=program").stdout
    names = {line.split("name=")[1].split()[0] for line in listing.splitlines()}
    built = {p.stem for p in (ROOT / "build/pyx/user").glob("*.elf")}
    assert names == built and "init" in names
    assert all(line.split()[2] == "system" for line in listing.splitlines())    # the kernel's label
    assert "0 problems" in kwe_fs("fsck", IMAGE).stdout
