"""Issue 12 items 5 and 9: a bad option is one line naming it, a non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import pytest

from tests.adversarial._helpers import cli, copy_v1, one_line_error, write_data, write_vectors


@pytest.fixture
def data(tmp_path):
    return write_data(tmp_path / "train.tsv"), write_vectors(tmp_path / "vec.txt")


@pytest.mark.parametrize("args, expected", [
    (["--valid-split", "1.5"], "--valid-split: must be a share in [0, 1) (0 for no validation), got 1.5"),
    (["--valid-split", "1.0"], "--valid-split: must be a share in [0, 1) (0 for no validation), got 1.0"),
    (["--valid-split", "0.999"], "--valid-split 0.999 leaves no training examples; use a smaller share"),
    (["--threads", "-1"], "--threads: must be at least 1, got -1"),
    (["--device", "tpu"], "--device: unknown device 'tpu'; choose one of auto, cpu, cuda"),
    (["--lr", "nan"], "--lr: must be a finite number > 0, got nan"),
    (["--lr", "inf"], "--lr: must be a finite number > 0, got inf"),
    (["--labels", "neg,neg"], "--labels: names must be distinct ('neg' is listed twice), got 'neg,neg'"),
])
def test_train_option_errors_are_one_line(tmp_path, capsys, data, args, expected):
    train, vec = data
    code, _, err = cli(capsys, "train", "--train", train, "--vectors", vec, "--epochs", "1", "--out",
                       tmp_path / "run", *args)
    assert code == 1
    assert one_line_error(err) == expected
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.partial").exists()


def test_one_line_training_file_is_refused(tmp_path, capsys, data):
    one = tmp_path / "one.tsv"
    one.write_text("pos\ta great movie\n", encoding="utf-8")
    code, _, err = cli(capsys, "train", "--train", one, "--vectors", data[1], "--out", tmp_path / "run")
    assert code == 1
    assert one_line_error(err) == (f"--train {one}: 1 example(s) cannot be split into training and validation "
                                   "data; give more data, --valid FILE, or --valid-split 0")
    assert not (tmp_path / "run").exists()


def test_one_class_training_file_is_refused(tmp_path, capsys, data):
    same = tmp_path / "same.tsv"
    same.write_text("".join(f"pos\tgood film {i}\n" for i in range(10)), encoding="utf-8")
    code, _, err = cli(capsys, "train", "--train", same, "--vectors", data[1], "--out", tmp_path / "run")
    assert code == 1
    assert one_line_error(err) == (f"--train {same}: the training data holds a single class (pos); "
                                   "a classifier needs examples of at least two classes")


def test_out_naming_a_file_is_refused(tmp_path, capsys, data):
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    code, _, err = cli(capsys, "train", "--train", data[0], "--vectors", data[1], "--out", target)
    assert code == 1
    assert one_line_error(err) == f"--out {target}: is a file, not a run directory; choose another --out"
    assert target.read_text() == "keep me\n"


def test_vectors_naming_a_directory_is_refused(tmp_path, capsys, data):
    code, _, err = cli(capsys, "train", "--train", data[0], "--vectors", tmp_path, "--out", tmp_path / "run")
    assert code == 1
    assert one_line_error(err) == f"{tmp_path}: is a directory, not a vectors file (give a GloVe/word2vec text file)"
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.partial").exists()  # no empty leftovers


def test_archive_naming_a_directory_is_refused(tmp_path, capsys):
    code, _, err = cli(capsys, "data", "imdb", "--archive", tmp_path)
    assert code == 1
    assert one_line_error(err) == (f"{tmp_path}: is a directory, not an archive (given by --archive); "
                                   "give the aclImdb_v1.tar.gz file")


@pytest.mark.parametrize("size", ["0", "-5"])
def test_evaluate_batch_size_must_be_positive(tmp_path, capsys, data, size):
    code, out, err = cli(capsys, "evaluate", copy_v1(tmp_path), "--data", data[0], "--batch-size", size)
    assert code == 1 and "accuracy" not in out
    assert one_line_error(err) == f"--batch-size: must be at least 1, got {size}"


def test_predict_file_naming_a_directory(tmp_path, capsys):
    code, _, err = cli(capsys, "predict", copy_v1(tmp_path), "--file", tmp_path)
    assert code == 1
    assert one_line_error(err) == f"{tmp_path}: is a directory, not a file of texts (one text per line)"


def test_predict_csv_into_a_missing_folder_fails_before_the_table(tmp_path, capsys):
    csv = tmp_path / "missing" / "out.csv"
    code, out, err = cli(capsys, "predict", copy_v1(tmp_path), "a good film", "--csv", csv)
    assert code == 1 and out == ""
    assert one_line_error(err) == f"--csv {csv}: the folder {csv.parent} does not exist"


@pytest.mark.parametrize("args, expected", [
    (["--max-batch", "0"], "--max-batch: must be at least 1, got 0"),
    (["--port", "99999"], "--port: must be in 0..65535, got 99999"),
    (["--inference-threads", "-2"], "--inference-threads: must be >= 0 (0: one per CPU, at most 4), got -2"),
    (["--log-level", "loud"], "--log-level: unknown level 'loud'; choose one of critical, error, warning, info, "
                              "debug, trace"),
])
def test_serve_option_errors_are_one_line(tmp_path, capsys, args, expected):
    code, out, err = cli(capsys, "serve", copy_v1(tmp_path), *args)
    assert code == 1 and "serving" not in out
    assert one_line_error(err) == expected
