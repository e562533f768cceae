"""Learning curves as PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def plot_curves(history: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Train vs validation accuracy and loss against the epoch."""
    fig = curves_figure(history, title)  # selects the Agg backend before pyplot loads
    import matplotlib.pyplot as plt  # deferred: matplotlib only for plots

    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def curves_figure(history: Sequence[dict], title: str = ""):
    """The matplotlib figure :func:`plot_curves` saves (accuracy and loss axes)."""
    import matplotlib  # deferred: matplotlib only for plots

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: matplotlib only for plots
    from matplotlib.ticker import MaxNLocator  # deferred: matplotlib only for plots

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.4))
    for split, style in (("train", "o-"), ("valid", "s--")):
        rows = [r for r in history if r.get(split)]
        if rows:
            epochs = [r["epoch"] for r in rows]
            ax_acc.plot(epochs, [r[split]["acc"] for r in rows], style, label=split, markersize=3)
            ax_loss.plot(epochs, [r[split]["loss"] for r in rows], style, label=split, markersize=3)
    for ax, name in ((ax_acc, "accuracy"), (ax_loss, "loss")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers: no tick at 0.5
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

