"""read_examples: one function for TSV, CSV, JSON Lines, JSON, Parquet and standard input."""

import io
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnnlab.data.readers import as_examples, read_examples
from rnnlab.data.task import Task
from rnnlab.data.tsv import TSVDataset
from rnnlab.errors import InputError, RnnlabError

ROWS = [("pos", "a fine film"), ("neg", "dull, long and slow"), ("neu", 'it was "ok"'), ("pos", "great")]


def write_all(tmp_path, rows=ROWS, text="text", label="label"):
    """The same examples in every format; CSV and Parquet use the given column names."""
    paths = {}
    paths["tsv"] = tmp_path / "d.tsv"
    paths["tsv"].write_text("".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    import csv

    paths["csv"] = tmp_path / "d.csv"
    with open(paths["csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", text, label])
        w.writerows([(i, t, y) for i, (y, t) in enumerate(rows)])
    paths["jsonl"] = tmp_path / "d.jsonl"
    paths["jsonl"].write_text("".join(json.dumps({text: t, label: y}) + "\n" for y, t in rows), encoding="utf-8")
    paths["json"] = tmp_path / "d.json"
    paths["json"].write_text(json.dumps([{text: t, label: y} for y, t in rows]), encoding="utf-8")
    paths["parquet"] = tmp_path / "d.parquet"
    pq.write_table(pa.table({text: [t for _, t in rows], label: [y for y, _ in rows]}), paths["parquet"])
    return paths


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl", "json", "parquet"])
def test_every_format_reads_the_same_examples(tmp_path, fmt):
    path = write_all(tmp_path)[fmt]
    ex = read_examples(path)
    assert ex.labels == ("neg", "neu", "pos")  # sorted set of the labels found
    assert [(ex.labels[e.label], e.text) for e in ex] == ROWS


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_fields_are_chosen_by_name(tmp_path, fmt):
    path = write_all(tmp_path, text="sentence", label="sentiment")[fmt]
    ex = read_examples(path, text_field="sentence", label_field="sentiment", labels=["pos", "neu", "neg"])
    assert ex.labels == ("pos", "neu", "neg") and [e.label for e in ex] == [0, 2, 1, 0]
    with pytest.raises(InputError, match="--text-field"):
        read_examples(path)


def test_format_overrides_the_extension_and_dash_reads_stdin(tmp_path, monkeypatch):
    p = tmp_path / "data.txt"
    p.write_text('{"text": "good", "label": "1"}\n{"text": "bad", "label": "0"}\n')
    ex = read_examples(p, format="jsonl")
    assert ex.labels == ("0", "1") and [e.label for e in ex] == [1, 0]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\tone\nb\ttwo\n")))
    ex = read_examples("-")
    assert ex.labels == ("a", "b") and [e.text for e in ex] == ["one", "two"] and ex.source == "<stdin>"


def test_numeric_labels_become_strings(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "x", "label": 3}\n{"text": "y", "label": 0}\n')
    assert read_examples(p).labels == ("0", "3")


@pytest.mark.parametrize("name,content,fragment", [
    ("d.csv", "text,label\nfine,pos\n\"unclosed,neg\n", "d.csv:3: "),
    ("d.csv", "sentence,label\nfine,pos\n", "d.csv:1: no column 'text' in the header (sentence, label); pick one with --text-field"),
    ("d.csv", "text,label\nfine,pos,extra\n", "d.csv:2: 3 fields but the header has 2"),
    ("d.jsonl", '{"text": "a", "label": "pos"}\n{"text": "b" "label": "neg"}\n', "d.jsonl:2: not valid JSON"),
    ("d.jsonl", '{"text": "a", "label": "pos"}\n{"txt": "b", "label": "neg"}\n', "d.jsonl:2: no text field 'text'"),
    ("d.jsonl", '{"text": "", "label": "pos"}\n', "d.jsonl:1: the text field 'text' is empty"),
    ("d.json", '[{"text": "a", "label": "pos"}, ["b", "neg"]]', "d.json: record 2: expected a JSON object"),
    ("d.json", '{"text": "a"}', "d.json: expected a JSON list of records"),
    ("d.tsv", "pos\tok\nno tab here\n", "d.tsv:2: no TAB found"),
    ("d.xlsx", "x", "cannot tell the format from the extension '.xlsx'; name it with --format"),
    ("d.tsv", "", "d.tsv: holds no examples"),
])
def test_bad_input_names_the_file_the_place_and_the_fix(tmp_path, name, content, fragment):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_examples(p)
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg


def test_unknown_label_in_later_data_names_the_record(tmp_path):
    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": ["pos", "meh"]}), p)
    with pytest.raises(InputError, match=r"d.parquet: record 2: unknown label 'meh', expected one of neg\|pos"):
        read_examples(p, labels=("neg", "pos"))


def test_duplicate_labels_are_refused(tmp_path):
    p = write_all(tmp_path)["tsv"]
    with pytest.raises(InputError, match="listed twice"):
        read_examples(p, labels=["neg", "pos", "neg", "neu"])


def test_the_python_api_takes_pairs_datasets_and_paths(tmp_path):
    paths = write_all(tmp_path)
    from_pairs = as_examples(ROWS)
    assert from_pairs.labels == ("neg", "neu", "pos") and [e.label for e in from_pairs] == [2, 0, 1, 2]
    assert as_examples(str(paths["jsonl"])) == from_pairs
    ds = TSVDataset(paths["tsv"], labels=None)
    assert as_examples(ds) == from_pairs and ds[1] == ("neg", "dull, long and slow")
    reordered = as_examples(from_pairs, ["pos", "neu", "neg"])
    assert [e.label for e in reordered] == [0, 2, 1, 0]
    with pytest.raises(RnnlabError, match="item 0"):
        as_examples([("pos", 3)])


def test_task_metrics_for_three_classes():
    task = Task(("a", "b", "c"))
    m = task.metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0])
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["acc"] == pytest.approx(4 / 6)
    pa_ = m["per_class"]["a"]
    assert (pa_["precision"], pa_["recall"], pa_["support"]) == (0.5, 0.5, 2)
    f1 = [0.5, 2 * (2 / 3) / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert "f1" not in m  # the positive-class figures exist for two classes only
    b = Task(("neg", "pos")).metrics([0, 1, 1, 0], [1, 1, 0, 0])
    assert b["confusion"] == [[1, 1], [1, 1]] and b["precision"] == 0.5 and b["recall"] == 0.5
