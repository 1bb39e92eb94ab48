"""Disaster scans at portfolio scale: the chunk planner, the chunk work and its executors.

Importing this package registers the executor dispatch with app.services.scans, so that a scan
started by any edge (API, agent UI, CLI) runs once its transaction commits.
"""

from app.jobs.executors import dispatch, run_scan_inline, wait_for_inline_scans
from app.services import scans as _scans

_scans.register_dispatcher(dispatch)

__all__ = ["dispatch", "run_scan_inline", "wait_for_inline_scans"]
