"""examples/studies.ipynb runs top to bottom (small data, one epoch) in the venv's own kernel."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "studies.ipynb"


def test_studies_notebook_runs(small_tsv, sample_test, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NoSuchKernel

    monkeypatch.setenv("RNNLAB_NB_TRAIN", str(small_tsv))
    monkeypatch.setenv("RNNLAB_NB_VALID", str(sample_test))
    monkeypatch.setenv("RNNLAB_NB_N", "60")
    monkeypatch.setenv("RNNLAB_NB_EPOCHS", "1")
    monkeypatch.setenv("RNNLAB_NB_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("RNNLAB_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # "python3" is ipykernel's native spec: it starts sys.executable, i.e. this venv's python
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    except (NoSuchKernel, RuntimeError, TimeoutError) as exc:
        if "kernel" in str(exc).lower() and "died" in str(exc).lower() or isinstance(exc, NoSuchKernel):
            pytest.skip(f"no Jupyter kernel could start: {exc}")
        raise
    assert (tmp_path / "out" / "report.md").exists()
    assert (tmp_path / "out" / "report.html").exists()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "row 0: 3 tokens + 2 x <pad>" in outputs
