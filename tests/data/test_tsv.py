from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.data.tsv import TSVDataset, clean_text, read_tsv
from rnnlab.errors import InputError


def write(tmp_path: Path, data: bytes, name="d.tsv") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_reads_labels_and_text_and_keeps_tabs_inside_the_text(tmp_path):
    p = write(tmp_path, b"pos\tgood film\nneg\tbad\tfilm with a tab\n")
    ex = read_tsv(p)
    assert [(e.label, e.text) for e in ex] == [(1, "good film"), (0, "bad\tfilm with a tab")]


def test_crlf_and_bom_are_accepted(tmp_path):
    p = write(tmp_path, b"\xef\xbb\xbfpos\tgood\r\nneg\tbad\r\n")
    assert [(e.label, e.text) for e in read_tsv(p)] == [(1, "good"), (0, "bad")]


def test_html_breaks_become_spaces_unless_raw(tmp_path):
    p = write(tmp_path, b"pos\tone<br /><br />two<BR>three\n")
    assert read_tsv(p)[0].text == "one  two three"
    assert read_tsv(p, clean=False)[0].text == "one<br /><br />two<BR>three"
    assert clean_text("a<br/>b") == "a b"


def test_labels_are_configurable(tmp_path):
    p = write(tmp_path, b"bad\tx\ngood\ty\n")
    assert [e.label for e in read_tsv(p, labels=("bad", "good"))] == [0, 1]


def test_blank_lines_are_skipped(tmp_path):
    p = write(tmp_path, b"pos\ta\n\n  \nneg\tb\n\n")
    assert len(read_tsv(p)) == 2


@pytest.mark.parametrize("data, line, fragment", [
    (b"pos\tok\nno tab here\n", 2, "no TAB found"),
    (b"pos\tok\nneg\t   \n", 2, "empty text"),
    (b"pos\tok\npositive\tgreat\n", 2, "unknown label 'positive', expected one of neg|pos"),
    (b"pos\tok\nneg\tcaf\xe9\n", 2, "invalid UTF-8"),
    (b"pos\tok\r\nneg\tok\r\npos\r\n", 3, "no TAB found"),
])
def test_malformed_lines_name_file_and_line(tmp_path, data, line, fragment):
    p = write(tmp_path, data)
    with pytest.raises(InputError) as err:
        read_tsv(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}:{line}: ")
    assert fragment in msg
    assert err.value.line == line


def test_empty_file_is_an_error(tmp_path):
    for data in (b"", b"\n\n", b"\xef\xbb\xbf"):
        p = write(tmp_path, data)
        with pytest.raises(InputError, match="empty"):
            read_tsv(p)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_tsv(tmp_path / "nope.tsv")


def test_sample_data_has_tab_inside_one_review(sample_train, sample_test):
    train = read_tsv(sample_train)
    test = read_tsv(sample_test)
    assert len(train) == 2000 and len(test) == 1000
    assert sum(e.label for e in train) == 1000
    assert sum("\t" in e.text for e in train) == 1
    assert sum("\t" in e.text for e in test) == 2


def test_dataset_items_are_label_name_and_text(tmp_path):
    ds = TSVDataset(write(tmp_path, b"pos\tgood\nneg\tbad\n"))
    assert len(ds) == 2 and ds[0] == ("pos", "good") and ds[1] == ("neg", "bad")
    assert ds.targets == [1, 0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_either_parse_or_raise_input_error(tmp_path, data):
    p = write(tmp_path, data, "fuzz.tsv")
    try:
        examples = read_tsv(p)
    except InputError as exc:
        assert str(p) in str(exc)
    else:
        assert examples and all(e.label in (0, 1) and e.text.strip() for e in examples)
