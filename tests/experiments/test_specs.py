"""The study specs: nine studies, the classic settings, lookup by number/name, epoch scaling."""

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.errors import RnnlabError
from rnnlab.experiments import STUDIES, get_study, scaled, study_table


def test_nine_studies_in_order_with_questions():
    assert [s.number for s in STUDIES] == list(range(1, 10))
    assert len({s.name for s in STUDIES}) == 9
    assert all(s.question.endswith("?") for s in STUDIES)


def test_classic_settings():
    for s in STUDIES:
        for r in s.runs:
            assert r.train.batch_size == 8 and r.train.seed == 1
            assert r.model.recurrent_dim in (50, 100) and r.model.hidden_dim == 20
            if r.train.optimizer == "sgd":
                assert r.train.lr == 0.01
    s1, s2 = get_study(1), get_study(2)
    assert [r.model.model for r in s1.runs] == ["rnn", "boe"]
    assert all(r.train.epochs == 100 and r.train.print_every == 5 and r.model.freeze_embeddings for r in s1.runs)
    assert s2.runs[0].train.epochs == 100 and not s2.runs[0].model.freeze_embeddings
    assert [r.telltale for r in get_study(4).runs] == ["start", "end", "middle"]
    assert get_study(4).gradient_positions == ("start", "middle", "end")
    assert get_study(3).runs[0].model.freeze_embeddings
    assert get_study(5).runs[0].model.recurrent_dim == 100
    assert get_study(6).runs[0].train.optimizer == "adam"
    assert all(r.model.bidirectional for r in get_study(7).runs)
    assert get_study(8).runs[0].model.model == "lstm" and get_study(8).runs[0].train.optimizer == "adam"
    assert get_study(9).requires == ("01-rnn-vs-boe", "02-fine-tuning")


def test_lookup_by_number_name_and_prefix():
    assert get_study("4").name == "04-telltale-positions"
    assert get_study(7).name == get_study("07-bidirectional").name == get_study("bidirectional").name
    with pytest.raises(RnnlabError, match="unknown study"):
        get_study("nothing-like-this")
    with pytest.raises(RnnlabError, match="ambiguous"):
        get_study("0")


def test_scaled_epochs():
    t = get_study(1).runs[0].train
    q = scaled(t, epochs_scale=0.1)
    assert (q.epochs, q.print_every) == (10, 1)
    assert scaled(t, epochs=3).epochs == 3
    assert scaled(get_study(3).runs[0].train, epochs_scale=0.01).epochs == 1
    assert scaled(t, seed=7).seed == 7


def test_study_list_command():
    r = CliRunner().invoke(app, ["study", "list"])
    assert r.exit_code == 0, r.output
    for s in STUDIES:
        assert s.name in r.output
    assert len(study_table()) == 9
