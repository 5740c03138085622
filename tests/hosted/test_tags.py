"""The tag grammar (kwe.common.tags): every rule both ways, check() against a
small Python model of the rules, operators in any case, and TagFS and its
query parser keeping the same rules (docs/tagfs.md "Tags and queries")."""
import pytest
from hypothesis import given, settings, strategies as st

from fsutil import new_volume
from kwe.common import tags
from kwe.fs import tagfs_host as tfs
from kwe.tasks import caps
from kwecli.abi import E_INVAL

C = tags.py_constants()
TAG_MAX = C["TAG_MAX"]

# Unicode's White_Space property, written out: Python's str.isspace() is the
# same set plus U+001C..U+001F (control characters, refused as such).
WHITE_SPACE = {*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
               0x2028, 0x2029, 0x202F, 0x205F, 0x3000}


def model(b):
    """check(), as the rules say it in docs/tagfs.md."""
    if not b:
        return C["TAG_EMPTY"]
    if len(b) > TAG_MAX:
        return C["TAG_TOO_LONG"]
    try:
        text, bad_at = b.decode("utf-8"), None            # Python's decoder is strict UTF-8
    except UnicodeDecodeError as e:
        text, bad_at = b[:e.start].decode("utf-8"), e.start
    for ch in text:
        if ord(ch) in WHITE_SPACE:
            return C["TAG_SPACE"]
        if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            return C["TAG_CONTROL"]
        if ch in "()":
            return C["TAG_PAREN"]
    if bad_at is not None:
        return C["TAG_BAD_UTF8"]
    key, eq, value = text.partition("=")
    if text == "=":
        return C["TAG_BARE_EQUALS"]
    if not key:
        return C["TAG_EMPTY_KEY"]
    if eq and not value:
        return C["TAG_EMPTY_VALUE"]
    if text.isascii() and text.upper() in ("AND", "OR", "NOT"):
        return C["TAG_OPERATOR"]
    return C["TAG_OK"]


def test_the_white_space_table_is_unicodes():
    assert WHITE_SPACE == {c for c in range(0x110000) if chr(c).isspace()} - set(range(0x1C, 0x20))


# ---- every rule, both ways ------------------------------------------------------------------------
GOOD = ["t", "type=text", "a=b=c", "x==", "name", "crc32", "Type=Program", "färg=röd",
        "名前=値", "emoji=\U0001F600", "\U0010FFFF", "\ud7ff", "\ue000", "android", "ANDY", "nor",
        "and=1", "x=and", "NOT=x", "a" * TAG_MAX, "ä" * (TAG_MAX // 2), "\u200b", "a\u00adb"]
BAD = {
    "TAG_EMPTY": [b""],
    "TAG_TOO_LONG": [b"a" * (TAG_MAX + 1), "ä".encode() * (TAG_MAX // 2) + b"a", b"(" * 200],
    "TAG_BAD_UTF8": [b"\x80", b"a\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xe0\x9f\xbf",
                     b"\xf0\x8f\xbf\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
                     b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",
                     b"\xc3a", b"\xe2\x28\xa1", b"x=\xc3"],
    "TAG_SPACE": [b"a b", b"a\tb", b"a\nb", b"a\rb", b"a\x0bb", b"a\x0cb", b" ", "a\u00a0b".encode(),
                  "a\u3000b".encode(), "a\u2028b".encode(), "\u2003".encode(), "x=\u0085".encode()],
    "TAG_CONTROL": [b"\x00", b"a\x00b", b"\x01", b"a\x1fb", b"\x7f", b"a\x1b[31m", "\u0080".encode(),
                    "\u009f".encode()],
    "TAG_PAREN": [b"(", b")", b"bad(tag", b"f()", b"k=("],
    "TAG_BARE_EQUALS": [b"="],
    "TAG_EMPTY_KEY": [b"=v", b"==", b"=x=y"],
    "TAG_EMPTY_VALUE": [b"x=", b"name=", "ä=".encode()],
    "TAG_OPERATOR": [b"AND", b"OR", b"NOT", b"and", b"or", b"not", b"And", b"nOT", b"oR"],
}


@pytest.mark.parametrize("tag", GOOD)
def test_good_tags(tag):
    assert tags.py_code(tag.encode()) == C["TAG_OK"] == model(tag.encode())
    assert tags.py_check(tag) is None


@pytest.mark.parametrize("name,tag", [(n, t) for n, ts in BAD.items() for t in ts])
def test_bad_tags_with_their_reason(name, tag):
    assert tags.py_code(tag) == C[name] == model(tag), tag


def test_the_first_broken_rule_is_the_reason():
    assert tags.py_code(b"a b(c") == C["TAG_SPACE"] and tags.py_code(b"a(b c") == C["TAG_PAREN"]
    assert tags.py_code(b"a(\xff") == C["TAG_PAREN"] and tags.py_code(b"\xff(") == C["TAG_BAD_UTF8"]
    assert tags.py_code(b" " * 119) == C["TAG_TOO_LONG"] and tags.py_code(b"= x") == C["TAG_SPACE"]


def test_every_reason_has_its_own_message():
    messages = [tags.py_reason(c) for c in range(C["TAG_REASONS"])]
    assert len(set(messages)) == len(messages) and all(messages)
    assert str(TAG_MAX) in tags.py_reason(C["TAG_TOO_LONG"])
    assert tags.py_reason(99) and tags.py_reason(-1)            # never NULL


def test_py_check_names_the_reason():
    assert tags.py_check("x=") == "empty value after '='"
    assert tags.py_check("and") == tags.py_reason(C["TAG_OPERATOR"])
    assert tags.py_check("a\udcff") == tags.py_reason(C["TAG_BAD_UTF8"])       # an undecodable argv byte
    assert tags.py_check("\ud800") == tags.py_reason(C["TAG_BAD_UTF8"])        # a lone surrogate


# ---- against the model ---------------------------------------------------------------------------
PIECES = [b"=", b"(", b")", b" ", b"\t", b"\x00", b"\x7f", b"\xc2\xa0", b"\xe3\x80\x80", b"\xc2\x85",
          b"\xc2\x80", b"\xc2\x9f", b"\xc2\xa1", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\xa0\x80",
          b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x8f\xbf\xbf",
          b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
          b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"AND", b"and", b"oR", b"Not", b"x", b"k=v",
          b"v" * 40]
tag_bytes = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=3),
                               st.text(max_size=3).map(lambda s: s.encode("utf-8", "surrogatepass"))),
                     max_size=48).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(tag_bytes)
def test_check_agrees_with_the_model(b):
    assert tags.py_code(b) == model(b)


@given(st.text(max_size=TAG_MAX + 8))
def test_py_check_is_check_on_the_utf8(s):
    code = model(s.encode("utf-8", "surrogatepass"))
    assert tags.py_check(s) == (None if code == 0 else tags.py_reason(code))


def casings(word):
    return st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in word]).map("".join)


@given(st.sampled_from(["and", "or", "not"]).flatmap(casings))
def test_operators_ignore_case(word):
    want = {"and": C["OPER_AND"], "or": C["OPER_OR"], "not": C["OPER_NOT"]}[word.lower()]
    assert tags.py_operator(word.encode()) == want
    assert tags.py_code(word.encode()) == C["TAG_OPERATOR"]


@given(tag_bytes)
def test_only_the_three_words_are_operators(b):
    is_op = b.isascii() and b.upper() in (b"AND", b"OR", b"NOT")
    assert (tags.py_operator(b) != C["OPER_NONE"]) == is_op


def model_word_len(b):
    """A query word ends at NUL, ASCII whitespace or a parenthesis."""
    return next((i for i, c in enumerate(b) if c in b"\0 \t\n\v\f\r()"), len(b))


@given(tag_bytes)
def test_word_key_and_space_lengths(b):
    assert tags.py_word_len(b) == model_word_len(b)
    assert tags.py_key_len(b) == (b.index(b"=") if b"=" in b else len(b))
    assert tags.py_space_len(b) == len(b.split(b"\0")[0]) - len(b.split(b"\0")[0].lstrip(b" \t\n\v\f\r"))


# ---- reserved tags --------------------------------------------------------------------------------
def test_reserved_tags():
    for t in (b"type=program", b"name=x", b"name==", b"name=", b"crc32=1234abcd", b"crc32=x=y"):
        assert tags.py_reserved(t), t
    for t in (b"type=programs", b"type=Program", b"Type=program", b"type=text", b"name", b"crc32",
              b"names=x", b"Name=x", b"myname=x", b"crc=1", b"crc32x=1", b""):
        assert not tags.py_reserved(t), t


@given(tag_bytes)
def test_caps_reserves_what_tags_reserves(b):
    b = b.replace(b"\0", b"")
    assert caps.py_reserved(b) == any(tags.py_reserved(w) for w in b.split(b" ") if w)


# ---- TagFS keeps the same rules --------------------------------------------------------------------
def code_of(call):
    try:
        call()
    except tfs.FSError as e:
        return e.code
    return 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=TAG_MAX // 2 + 4), min_size=1, max_size=8))
def test_tagfs_refuses_exactly_what_check_refuses(names):
    disk, v = new_volume()
    a = v.create()
    for s in dict.fromkeys(names):
        if "\0" in s or any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            continue                                  # the hosted wrapper passes UTF-8 C strings
        if tags.py_check(s) is None:
            v.tag(a, s)
            assert v.query(s) == [a], s
        else:
            assert code_of(lambda: v.tag(a, s)) == E_INVAL, s
            one_word = model_word_len(s.encode()) == len(s.encode())     # else it is several
            assert not one_word or code_of(lambda: v.query(s)) == E_INVAL, s


def test_tagfs_errors_for_each_rule():
    disk, v = new_volume()
    a = v.create("färg=röd 名前=値")
    assert v.query("färg=röd") == [a] and v.query("名前=値") == [a]
    v.tag(a, "ä" * (TAG_MAX // 2))
    assert v.query("ä" * (TAG_MAX // 2)) == [a]
    for bad in ["x=", "=v", "=", "and", "Or", "nOT", "a\u00a0b", "a\x01b", "(", "ä" * (TAG_MAX // 2) + "a"]:
        assert code_of(lambda: v.tag(a, bad)) == E_INVAL, bad
        assert code_of(lambda: v.create(bad)) == E_INVAL, bad
    assert v.files() == [a]                           # the refused creates left nothing


# ---- queries read operators in any case ------------------------------------------------------------
def volume_with(*taglists):
    disk, v = new_volume()
    return disk, v, [v.create(t) for t in taglists]


def test_type_text_and_numbers_means_and():
    disk, v, (a, b, c) = volume_with("type=text numbers", "type=text", "numbers")
    assert v.query("type=text and numbers") == v.query("type=text AND numbers") == [a]
    assert v.query("type=text or numbers") == [a, b, c]
    assert v.query("type=text and not numbers") == [b]
    assert v.query("not type=text") == [c]
    assert v.query("(type=text\r\nOr numbers)") == [a, b, c]      # CR and LF are spaces between words


def test_a_query_word_that_is_no_tag_is_einval():
    disk, v, _ = volume_with("a")
    for q in ["x=", "a AND =v", "=", "a \u00a0 b", "a\x01", "a and", "or a", "not", "a AND and",
              "b" * (TAG_MAX + 1)]:
        assert code_of(lambda: v.query(q)) == E_INVAL, q


QUERIES = ["a AND b", "a b", "a OR b", "NOT a", "a AND NOT b", "(a OR b) AND NOT (c OR d)",
           "NOT a OR NOT b", "NOT (a AND b) AND c", "a OR (NOT c AND NOT a)"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(QUERIES), st.randoms(use_true_random=False))
def test_lowercase_operators_mean_the_same(q, rng):
    disk, v, _ = volume_with("a", "b", "a b", "c", "a c", "b c d", "")
    words = [w if w not in ("AND", "OR", "NOT") else "".join(rng.choice([ch, ch.lower()]) for ch in w)
             for w in q.split(" ")]
    assert v.query(" ".join(words)) == v.query(q), words


def test_value_of_finds_the_first_tag_with_the_key_on_its_own_line():
    from kwe.common import tags as ktags
    listing = b"type=program\nmyname=x\nname=hello\nname=other\ncrc32=908e50b3"
    assert ktags.py_value_of(listing, b"name") == b"hello"          # not myname=, the first name=
    assert ktags.py_value_of(listing, b"crc32") == b"908e50b3"      # the last line, no '\n' after it
    assert ktags.py_value_of(listing, b"type") == b"program"
    assert ktags.py_value_of(listing, b"nam") is None
    assert ktags.py_value_of(b"name", b"name") is None               # a key without '=' is no value
    assert ktags.py_value_of(b"name=", b"name") == b""
    assert ktags.py_value_of(b"", b"name") is None
