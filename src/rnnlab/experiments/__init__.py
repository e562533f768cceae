"""The study suite: declarative specs (:mod:`.specs`), the runner (:mod:`.runner`) and the report (:mod:`.report`)."""

from rnnlab.experiments.specs import STUDIES, RunSpec, Study, get_study, scaled, study_table
from rnnlab.experiments import runner
from rnnlab.experiments.report import write_report

__all__ = ["STUDIES", "RunSpec", "Study", "get_study", "scaled", "study_table", "run_study", "run_studies",
           "DataSource", "write_report"]


def __getattr__(name):
    if name in ("run_study", "run_studies", "DataSource"):
        return getattr(runner, name)
    if name == "write_report":
        return write_report
    raise AttributeError(name)
