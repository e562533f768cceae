"""``rnnlab weights RUN``: every parameter's name, shape and summary statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console, print_df


@app.command("weights")
def weights_command(
    run: Path = typer.Argument(..., help="Run directory."),
    full: bool = typer.Option(False, help="Print every value of the selected parameters too."),
    name: Optional[str] = typer.Option(None, help="Only parameters whose name contains this."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON (a list of objects)."),
) -> None:
    """List the parameters of a trained run."""
    import numpy as np

    from rnnlab.inspect import weights_table
    from rnnlab.runs import load_run

    model = load_run(run).model
    df = weights_table(model)
    if name:
        matched = df[df["name"].str.contains(name, regex=False)]
        if matched.empty:
            from rnnlab.errors import RnnlabError

            raise RnnlabError(f"--name {name!r} matches no parameter of {run}; names: {', '.join(df['name'])}")
        df = matched
    if as_json:
        import json

        rows = [{k: (list(map(int, v)) if k == "shape" else v.item() if hasattr(v, "item") else v)
                 for k, v in row.items()} for row in df.to_dict("records")]
        typer.echo(json.dumps(rows, indent=2))
        return
    df = df.assign(shape=df["shape"].map(lambda s: "x".join(map(str, s))))
    print_df(df)
    if full:
        params = dict(model.named_parameters())
        with np.printoptions(threshold=np.inf, linewidth=120, precision=4, suppress=True):
            for n in df["name"]:
                console.print(f"[bold]{n}[/bold]")
                console.print(str(params[n].detach().numpy()), markup=False)
