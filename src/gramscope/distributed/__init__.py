"""Many independent images: batches, sweeps and video, locally or as Ray tasks.

Every picture is an :class:`ImageJob` run by :func:`run_job` (which calls
:func:`gramscope.stylize`); :func:`execute` schedules jobs on a backend from
:func:`make_backend` (this process, a local process pool, or Ray). Ray is optional
(``pip install 'gramscope[ray]'``) and imported only when asked for.
"""

from .executors import (
    ProcessPoolBackend,
    RayBackend,
    SerialBackend,
    Summary,
    execute,
    make_backend,
)
from .jobs import ImageJob, JobOutcome, is_done, run_job

__all__ = [
    "ImageJob", "JobOutcome", "ProcessPoolBackend", "RayBackend", "SerialBackend", "Summary",
    "execute", "is_done", "make_backend", "run_job",
]
