"""Web API and explorer page over trained runs: ``create_app(run_dirs)``, served by ``rnnlab serve``."""

from rnnlab.serve.app import Limits, create_app

__all__ = ["Limits", "create_app"]
