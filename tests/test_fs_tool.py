"""tools/kwe fs, as a user runs it: make an image, put files, tag, query,
get, fsck -- the same commands on the built kwe.img -- and every mistake a
user makes answered in one line, never a traceback."""
import argparse
import os
import shutil

import pytest

from conftest import kwe_fs
from kwecli import fs
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
    assert f"{a:6d}         6   user  -  type=text\n" in listing and "type=binary important" in listing
    assert kwe_fs("ls", img, "important").stdout.split()[0] == str(b)
    out = tmp_path / "copy.bin"
    kwe_fs("get", img, b, "-o", out)
    assert out.read_bytes() == bytes(range(256)) * 100
    assert "0 problems" in kwe_fs("fsck", img).stdout
    kwe_fs("rm", img, a)
    assert kwe_fs("query", img, "type=text").stdout.strip() == ""
    r = kwe_fs("get", img, 999, check=False)
    assert r.returncode == 1 and f"{img} has no file 999" in r.stderr


def test_the_built_image_holds_every_program_tagged():
    listing = kwe_fs("ls", IMAGE, "type=program").stdout
    names = {line.split()[3] for line in listing.splitlines()}
    built = {p.stem for p in (ROOT / "build/pyx/user").glob("*.elf")}
    assert names == built and "init" in names
    assert all(line.split()[2] == "system" for line in listing.splitlines())    # the kernel's label
    assert "0 problems" in kwe_fs("fsck", IMAGE).stdout


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """A small image with two text files, one named (made once: each test gets a copy)."""
    tmp = tmp_path_factory.mktemp("two_files")
    path = tmp / "fs.img"
    kwe_fs("mkfs", path, "--size", "9M")
    (tmp / "a.txt").write_bytes(b"alpha\n")
    (tmp / "b.txt").write_bytes(b"beta\n")
    kwe_fs("put", path, tmp / "a.txt", "type=text", "name=a")
    kwe_fs("put", path, tmp / "b.txt", "type=text")
    return tmp


@pytest.fixture
def img(two_files, tmp_path):
    for name in ("fs.img", "a.txt", "b.txt"):
        shutil.copy(two_files / name, tmp_path / name)
    return tmp_path / "fs.img"


def one_line_mistake(*args):
    """The command fails, with exactly one line on stderr saying what is
    wrong and what to do, and nothing on stdout.  Returns that line."""
    r = kwe_fs(*args, check=False)
    assert r.returncode != 0, r.stdout
    assert "Traceback" not in r.stderr and r.stdout == "", r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwe fs: ") and "; " in lines[0], r.stderr
    return lines[0]


MISTAKES = {
    "a missing image": (["ls", "{tmp}/nosuch.img"], "No such file"),
    "a directory as image": (["ls", "{tmp}"], "Is a directory"),
    "a file that holds no TagFS": (["fsck", "{tmp}/a.txt"], "holds no TagFS"),
    "a missing input file": (["put", "{img}", "{tmp}/nosuch.txt"], "No such file"),
    "a directory as input file": (["put", "{img}", "{tmp}"], "Is a directory"),
    "a negative id": (["get", "{img}", "--", "-1"], "-1 is not a file id"),
    "a negative id to tag": (["tag", "{img}", "--", "-1", "x"], "not a file id"),
    "an id with no file": (["rm", "{img}", "999"], "has no file 999"),
    "a tag on no file": (["tag", "{img}", "999", "x"], "has no file 999"),
    "a size in MB": (["mkfs", "{tmp}/n.img", "--size", "32MB"], "'32MB' is not a size"),
    "a size that is a word": (["mkfs", "{tmp}/n.img", "--size", "abc"], "'abc' is not a size"),
    "a size too big to hold": (["mkfs", "{tmp}/n.img", "--size", "2T"], "at most 1G"),
    "a negative size": (["mkfs", "{tmp}/n.img", "--size", "-5"], "'-5' is not a size"),
    "a negative journal": (["mkfs", "{tmp}/n.img", "--journal-blocks", "-3"], "not a journal size"),
    "mkfs over an image": (["mkfs", "{img}"], "add --force"),
    "a tag with a space": (["put", "{img}", "{tmp}/a.txt", "a b"], "the tag 'a b' is refused: contains whitespace; give each tag as its own argument"),
    "a tag TagFS refuses": (["put", "{img}", "{tmp}/a.txt", "ok", "AND"], "the tag 'AND' is refused: AND, OR and NOT (in any case) are query operators"),
    "tagging with a refused tag": (["tag", "{img}", "1", "(x"], "the tag '(x' is refused: contains a parenthesis"),
    "a malformed query": (["ls", "{img}", "(("], "E_INVAL"),
    "a query no file matches": (["get", "{img}", "type=none"], "no file matches 'type=none'"),
    "a query two files match": (["rm", "{img}", "type=text"], "2 files match 'type=text' (ids 1 2)"),
    "no command": ([], "required"),
    "an unknown command": (["frob", "{img}"], "invalid choice"),
}


@pytest.mark.parametrize("what", MISTAKES)
def test_a_mistake_is_one_line_and_changes_nothing(what, img, tmp_path):
    args, said = MISTAKES[what]
    before = img.read_bytes()
    line = one_line_mistake(*(a.format(img=img, tmp=tmp_path) for a in args))
    assert said in line
    assert img.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_image_is_one_line(img):
    img.chmod(0)
    assert "Permission denied" in one_line_mistake("ls", img)


def test_too_small_a_size_names_the_smallest_and_that_one_works(tmp_path):
    line = one_line_mistake("mkfs", tmp_path / "n.img", "--size", "100K")
    smallest = line.split("the smallest with this journal is ")[1].split()[0]
    n = fs.parse_size(smallest)
    assert not (tmp_path / "n.img").exists()
    one_line_mistake("mkfs", tmp_path / "n.img", "--size", str(n - 4096))
    kwe_fs("mkfs", tmp_path / "n.img", "--size", str(n))
    assert "0 problems" in kwe_fs("fsck", tmp_path / "n.img").stdout
    line = one_line_mistake("mkfs", tmp_path / "m.img", "--size", "100K", "--journal-blocks", "64")
    assert fs.parse_size(line.split("is ")[-1].split()[0]) < n                # a smaller journal needs less


@pytest.mark.parametrize("text, blocks", [("9M", 2304), ("9m", 2304), ("9728K", 2432), ("10485760", 2560),
                                          ("10485761", 2560)])
def test_sizes(tmp_path, text, blocks):
    assert f": {blocks} blocks of 4 KiB" in kwe_fs("mkfs", tmp_path / "s.img", "--size", text).stdout
    assert (tmp_path / "s.img").stat().st_size == blocks * 4096


def test_the_size_bounds():
    assert fs.size("1G") == 1 << 30 and fs.size("512K") == 512 << 10 and fs.size("4096") == 4096
    for text in ("2G", "1025M", "1T", "1.5G", "", "0x10", "M"):
        with pytest.raises(argparse.ArgumentTypeError):
            fs.size(text)


def test_mkfs_replaces_a_bare_file_only_with_force(img):
    one_line_mistake("mkfs", img, "--size", "9M")
    assert kwe_fs("ls", img).stdout.count("\n") == 2
    assert "--keep-boot is for a KWE boot image" in one_line_mistake("mkfs", img, "--keep-boot")
    kwe_fs("mkfs", img, "--size", "10M", "--force")
    assert kwe_fs("ls", img).stdout == "" and img.stat().st_size == 10 << 20


def test_mkfs_on_a_boot_image_remakes_only_its_filesystem_with_keep_boot(tmp_path):
    disk = tmp_path / "kwe.img"
    shutil.copy(IMAGE, disk)
    before = disk.read_bytes()
    for extra in ([], ["--force"], ["--force", "--size", "32M"]):
        assert "is a KWE boot image" in one_line_mistake("mkfs", disk, *extra)
    assert "--size does not apply" in one_line_mistake("mkfs", disk, "--keep-boot", "--size", "32M")
    assert disk.read_bytes() == before
    out = kwe_fs("mkfs", disk, "--keep-boot").stdout
    assert "the boot code and kernel are kept, the programs are erased" in out
    offset, length = fs.locate(before)
    after = disk.read_bytes()
    assert len(after) == len(before) and after[:offset] == before[:offset] and after[offset:] != before[offset:]
    assert kwe_fs("ls", disk).stdout == ""
    assert f"KWE boot image, TagFS at byte {offset}" in kwe_fs("info", disk).stdout
    assert "0 problems" in kwe_fs("fsck", disk).stdout


def test_tag_and_untag_change_what_they_can_and_name_the_rest(img):
    r = kwe_fs("tag", img, 1, "type=text", "new1", "name=a", "new2")
    assert r.returncode == 0 and r.stderr.strip() == "kwe fs: file 1 already has type=text name=a; tagged the other 2"
    assert kwe_fs("ls", img, "new1 AND new2").stdout.split()[0] == "1"
    r = kwe_fs("tag", img, 1, "new1", "new2", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "kwe fs: file 1 already has new1 new2; nothing changed"
    r = kwe_fs("untag", img, 1, "new1", "absent", "new2")
    assert r.returncode == 0 and r.stderr.strip() == "kwe fs: file 1 does not have absent; untagged the other 2"
    r = kwe_fs("untag", img, 1, "new1", check=False)
    assert r.returncode == 1 and "does not have new1; nothing changed" in r.stderr
    assert kwe_fs("query", img, "new1 OR new2").stdout.strip() == ""


def test_put_takes_each_argument_as_one_tag(img, tmp_path):
    f = kwe_fs("put", img, tmp_path / "a.txt", "k=v", "x", "x").stdout.strip()
    assert kwe_fs("ls", img, "k=v").stdout.split()[4:] == ["k=v", "x"]
    assert kwe_fs("ls", img, "k=v").stdout.split()[0] == f


def test_info(img):
    out = kwe_fs("info", img).stdout.splitlines()
    assert out[0] == f"{img}: bare TagFS image (9M)"
    info = dict(line.split(None, 1) for line in out[1:])
    assert info["version"] == "2" and info["blocks"] == "2304" and info["journal_blocks"] == "2048"
    assert info["files"] == "2" and info["tags"] == "2" and int(info["free_blocks"]) < 2304 - 2048


def test_tags_counts_files_by_name(img, tmp_path):
    kwe_fs("tag", img, 2, "zeta", "alpha")
    assert kwe_fs("tags", img).stdout.splitlines() == ["alpha      1", "name=a     1", "type=text  2", "zeta       1"]


def test_ls_shows_the_name_in_its_own_column(img):
    kwe_fs("tag", img, 2, "name=longer")
    assert kwe_fs("ls", img).stdout.splitlines() == [
        "     1         6   user  a       type=text",
        "     2         5   user  longer  type=text"]
    kwe_fs("untag", img, 2, "name=longer")
    assert kwe_fs("ls", img, "NOT name=a").stdout.splitlines() == ["     2         5   user  -  type=text"]


def test_get_and_rm_take_a_query_that_matches_exactly_one(img):
    assert kwe_fs("get", img, "name=a").stdout == "alpha\n"
    assert kwe_fs("get", img, "type=text AND NOT name=a").stdout == "beta\n"
    kwe_fs("rm", img, "name=a")
    assert kwe_fs("query", img, "type=text").stdout.split() == ["2"]
    assert kwe_fs("get", img, "type=text").stdout == "beta\n"        # now just one


def test_fsck_repair_rebuilds_a_damaged_boot_image_and_names_what_it_lost(tmp_path):
    from kwecli.tagfs_image import BLOCK, Image
    disk = tmp_path / "kwe.img"
    shutil.copy(IMAGE, disk)
    start, length = fs.locate(disk.read_bytes())
    region = Image(disk.read_bytes()[start:start + length])
    hello = int(kwe_fs("query", disk, "name=hello").stdout)
    victim = next(b for b in region.data_blocks())          # the first file's first block
    raw = bytearray(disk.read_bytes())
    raw[start + victim * BLOCK + 200] ^= 0x10
    disk.write_bytes(bytes(raw))
    assert kwe_fs("fsck", disk, check=False).returncode == 1
    r = kwe_fs("fsck", disk, "--repair", check=False)
    assert r.returncode == 1 and "1 thing lost" in r.stdout and f"disk block {victim}" in r.stdout, r.stdout
    assert "0 problems" in kwe_fs("fsck", disk).stdout
    assert kwe_fs("query", disk, "name=hello").stdout.split() in ([str(hello)], [])
    assert disk.read_bytes()[:start] == IMAGE.read_bytes()[:start]      # the boot code is untouched


def test_a_reader_that_goes_away_is_no_error(tmp_path):
    """`tools/kwe fs ls IMG | head -1`: the pipe closes while the tool still
    prints (more than a pipe holds); it stops quietly, status 0."""
    import subprocess
    import sys
    from kwecli.hosted import new_volume
    disk, v = new_volume(blocks=4096)
    v.create_many([f"name=file{i} type=text lang=en some=long-enough-tag-{i}" for i in range(3000)])
    v.unmount()
    img = tmp_path / "many.img"
    img.write_bytes(disk.image())
    p = subprocess.Popen([sys.executable, "-c", "import sys; from kwecli import fs; sys.exit(fs.main(sys.argv[1:]))",
                          "ls", str(img)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    first = p.stdout.read(10)
    p.stdout.close()                                 # as head does after its line
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0 and first.strip().startswith(b"1") and err == "", err


def test_the_built_image_holds_the_workflow_files_and_put_checks_one(tmp_path):
    listing = kwe_fs("ls", IMAGE, "type=workflow").stdout
    assert sorted(line.split()[3] for line in listing.splitlines()) == ["failure", "fanout", "retry"]
    img = tmp_path / "fs.img"
    kwe_fs("mkfs", img, "--size", "9M")
    (tmp_path / "bad.wf").write_bytes(b"node a = nop args\n")
    r = kwe_fs("put", img, tmp_path / "bad.wf", "type=workflow", "name=bad", check=False)
    assert r.returncode == 1 and r.stderr.strip() == f"{tmp_path / 'bad.wf'}:2:1: expected a number, found the end of the text"
    assert kwe_fs("ls", img).stdout == ""                       # nothing went on the disk
    (tmp_path / "ok.wf").write_bytes(b"node a = sleep args 1\n")
    assert int(kwe_fs("put", img, tmp_path / "ok.wf", "type=workflow", "name=ok").stdout) > 0
