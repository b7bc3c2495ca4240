"""Where jobs run: in this process, in a local process pool, or as Ray tasks.

One scheduler (:func:`execute`) drives every backend: it skips finished jobs, holds a
warm-started job back until the job it starts from is finished (and then points its
``init`` at that result, or leaves it as planned if that job failed), keeps at most
``backend.slots`` jobs in flight, shows a progress bar and collects one
:class:`~gramscope.distributed.jobs.JobOutcome` per job. A backend only knows how to start
a job and how to wait for the next one to finish, so a laptop and a Ray cluster share the
same code path.

Failures: a :class:`~gramscope.errors.GramscopeError` (bad file, impossible setting) or a
loss that could not be recovered fails its job at once; any other exception is retried in
the worker (:func:`attempt`), and on Ray a worker process that dies is also retried by Ray
itself (``max_retries``). Either way the other jobs carry on; only a stop asked for (Ctrl-C,
SIGTERM) stops them all.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import GramscopeError, OptionsError
from .jobs import STATUSES, ImageJob, JobOutcome, is_done, run_job

#: Retries of a job that raised something other than a GramscopeError.
DEFAULT_RETRIES = 2


def attempt(
    job: ImageJob, retries: int = DEFAULT_RETRIES, threads: int | None = None
) -> JobOutcome:
    """Run ``job`` in this process, retrying unexpected errors up to ``retries`` times.

    ``threads`` fixes torch's intra-op threads: workers sharing a machine must split its
    cores, or two workers each using every core run slower than one.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    started = time.perf_counter()
    number = 0
    while True:
        number += 1
        try:
            outcome = run_job(job)
            break
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - any bug in one image must not stop the batch
            if number > retries:
                outcome = JobOutcome("failed", job.output, message=f"{type(exc).__name__}: {exc}")
                break
    return dataclasses.replace(outcome, seconds=time.perf_counter() - started, attempts=number)


class Backend(Protocol):
    """Starts jobs and reports them finished; used as a context manager."""

    #: How many jobs may run at the same time.
    slots: int
    #: One line for the progress bar and the summary.
    description: str

    def submit(self, job: ImageJob) -> Any: ...

    def wait(self, handles: Sequence[Any]) -> list[tuple[Any, JobOutcome]]: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


class SerialBackend:
    """One job at a time in this process (the default without Ray)."""

    slots = 1
    description = "locally, 1 worker"

    def __init__(self, retries: int = DEFAULT_RETRIES) -> None:
        self.retries = retries
        self._finished: dict[int, JobOutcome] = {}
        self._next = 0

    def submit(self, job: ImageJob) -> int:
        self._next += 1
        self._finished[self._next] = attempt(job, self.retries)
        return self._next

    def wait(self, handles: Sequence[int]) -> list[tuple[int, JobOutcome]]:
        return [(handle, self._finished.pop(handle)) for handle in handles]

    def __enter__(self) -> SerialBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finished.clear()


class ProcessPoolBackend:
    """``workers`` local processes (the standard library's pool), each with its share of cores."""

    def __init__(self, workers: int, retries: int = DEFAULT_RETRIES) -> None:
        self.slots = workers
        self.retries = retries
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self.description = f"locally, {workers} worker processes × {self.threads} threads"
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: dict[Future, ImageJob] = {}

    def submit(self, job: ImageJob) -> Future:
        assert self._pool is not None, "use the backend as a context manager"
        future = self._pool.submit(attempt, job, self.retries, self.threads)
        self._jobs[future] = job
        return future

    def wait(self, handles: Sequence[Future]) -> list[tuple[Future, JobOutcome]]:
        finished, _ = wait(handles, return_when=FIRST_COMPLETED)
        results = []
        for future in finished:
            job = self._jobs.pop(future)
            try:
                results.append((future, future.result()))
            except Exception as exc:  # noqa: BLE001 - a crashed worker fails its jobs only
                results.append((future, JobOutcome("failed", job.output,
                                                   message=f"{type(exc).__name__}: {exc}")))
        return results

    def __enter__(self) -> ProcessPoolBackend:
        import multiprocessing

        # spawn, not fork: forking a process that already holds torch's thread pools hangs.
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.slots, mp_context=context)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ray_task(job: ImageJob, retries: int, threads: int) -> JobOutcome:
    return attempt(job, retries, threads)


class RayBackend:
    """One Ray task per job, asking for ``cpus_per_task`` CPUs or ``gpus_per_task`` GPUs.

    Joins the cluster at ``address`` (or the one already initialised in this process), else
    starts a local one; only a Ray it started itself is shut down at the end.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_task: float = 1.0,
        gpus_per_task: float | None = None,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        if workers is not None and workers < 1:
            raise OptionsError(f"--workers must be 1 or more, not {workers}")
        if cpus_per_task <= 0:
            raise OptionsError(f"--cpus-per-task must be more than zero, not {cpus_per_task}")
        self.address = address
        self.workers = workers
        self.cpus_per_task = cpus_per_task
        self.gpus_per_task = gpus_per_task
        self.retries = retries
        self.slots = workers or 1
        self.threads = max(1, int(cpus_per_task))
        self.description = "on Ray"
        self._started_ray = False
        self._remote: Any = None
        self._outputs: dict[Any, ImageJob] = {}

    def __enter__(self) -> RayBackend:
        ray = import_ray()
        if not ray.is_initialized():
            if self.address:
                # A cluster (or Ray Client, ray://) has its own settings; ask for none.
                ray.init(address=self.address)
            else:
                # Workers' logs stay in Ray's log folder: failures come back as outcomes.
                cpus = math.ceil(self.workers * self.cpus_per_task) if self.workers else None
                ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        resources = ray.cluster_resources()
        gpus = self.gpus_per_task
        if gpus is None:
            # A whole GPU per task where the cluster has GPUs, so tasks never compete for one
            # GPU's memory; --gpus-per-task 0.5 packs two small images on each.
            gpus = 1.0 if resources.get("GPU", 0) > 0 else 0.0
        by_cpu = int(resources.get("CPU", 1) // self.cpus_per_task)
        by_gpu = int(resources.get("GPU", 0) // gpus) if gpus else by_cpu
        self.slots = self.workers or max(1, min(by_cpu, by_gpu))
        self._remote = ray.remote(_ray_task).options(
            num_cpus=self.cpus_per_task, num_gpus=gpus,
            # Ray retries a task whose worker process died (out of memory, node lost);
            # exceptions inside the task are retried by attempt().
            max_retries=self.retries, retry_exceptions=False,
        )
        where = self.address or ("this machine" if self._started_ray else "the current cluster")
        kind = f"{gpus:g} GPU" if gpus else f"{self.cpus_per_task:g} CPU"
        self.description = f"on Ray ({where}), {self.slots} tasks at a time, {kind} each"
        return self

    def submit(self, job: ImageJob) -> Any:
        ref = self._remote.remote(job, self.retries, self.threads)
        self._outputs[ref] = job
        return ref

    def wait(self, handles: Sequence[Any]) -> list[tuple[Any, JobOutcome]]:
        ray = import_ray()
        ready, _ = ray.wait(list(handles), num_returns=1)
        results = []
        for ref in ready:
            job = self._outputs.pop(ref)
            try:
                results.append((ref, ray.get(ref)))
            except ray.exceptions.RayError as exc:
                # Every retry used up (a worker that keeps dying): this image fails alone.
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                results.append((ref, JobOutcome("failed", job.output,
                                                message=f"{type(exc).__name__}: {first_line}",
                                                attempts=self.retries + 1)))
        return results

    def __exit__(self, *exc: object) -> None:
        ray = import_ray()
        for ref in self._outputs:  # left over only when stopped early (Ctrl-C, an error)
            ray.cancel(ref)
        self._outputs.clear()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


def import_ray() -> Any:
    """Ray, imported only when asked for: it is an optional extra."""
    try:
        import ray
    except ImportError:
        raise GramscopeError(
            "Ray is not installed: pip install 'gramscope[ray]', or leave out --ray and "
            "--ray-address to run locally"
        ) from None
    return ray


def make_backend(
    *,
    ray: bool = False,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_task: float = 1.0,
    gpus_per_task: float | None = None,
    retries: int = DEFAULT_RETRIES,
) -> Backend:
    """The backend the CLI flags ask for: Ray with ``--ray``/``--ray-address``, else local."""
    if retries < 0:
        raise OptionsError(f"--retries must be 0 or more, not {retries}")
    if ray or address:
        return RayBackend(address, workers, cpus_per_task, gpus_per_task, retries)
    if workers is not None and workers < 1:
        raise OptionsError(f"--workers must be 1 or more, not {workers}")
    if not workers or workers == 1:
        return SerialBackend(retries)
    return ProcessPoolBackend(workers, retries)


def status_counts(outcomes: Iterable[JobOutcome]) -> dict[str, int]:
    """How many outcomes have each status, every status named (in STATUSES order)."""
    statuses = [o.status for o in outcomes]
    return {status: statuses.count(status) for status in STATUSES}


@dataclass
class Summary:
    """Outcomes in job order, and what to print about them."""

    jobs: Sequence[ImageJob]
    outcomes: list[JobOutcome]
    seconds: float
    description: str = ""
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = status_counts(self.outcomes)

    @property
    def failed(self) -> list[tuple[ImageJob, JobOutcome]]:
        return [(j, o) for j, o in zip(self.jobs, self.outcomes, strict=True)
                if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        """Non-zero when any image failed, so scripts and schedulers notice."""
        return 1 if self.counts["failed"] else 0

    def lines(self) -> list[str]:
        n = self.counts
        lines = [f"{n['done']} done, {n['skipped']} skipped (already done), {n['failed']} "
                 f"failed of {len(self.jobs)} in {self.seconds:.1f} s {self.description}".rstrip()]
        lines += [f"  failed: {job.name}: {outcome.message}" for job, outcome in self.failed]
        return lines


def _dependents(jobs: Sequence[ImageJob]) -> dict[int, list[int]]:
    """For each job, the jobs that wait for it (each must come after the one it waits for)."""
    dependents: dict[int, list[int]] = {}
    for index, job in enumerate(jobs):
        if job.after is not None:
            if not 0 <= job.after < index:
                raise ValueError(f"job {index} waits for job {job.after}, which is not before it")
            dependents.setdefault(job.after, []).append(index)
    return dependents


def _prepared(
    index: int, jobs: Sequence[ImageJob], outcomes: dict[int, JobOutcome], overwrite: bool,
) -> ImageJob | JobOutcome:
    """The job to submit (warm-started from the one it waits for, if that one succeeded), or
    its outcome when it needs no run: already done, or unusable."""
    job = jobs[index]
    try:
        if job.after is not None and outcomes[job.after].status != "failed":
            job = job.warm_started(jobs[job.after].output)
        if not overwrite and is_done(job):
            return JobOutcome("skipped", job.output)
    except GramscopeError as exc:
        return JobOutcome("failed", job.output, message=str(exc))
    return job


def execute(
    jobs: Sequence[ImageJob],
    backend: Backend,
    *,
    overwrite: bool = False,
    progress: bool = True,
    unit: str = "image",
) -> Summary:
    """Run ``jobs`` on an entered ``backend`` and return one outcome per job, in job order."""
    started = time.perf_counter()
    bar = _progress_bar(len(jobs), unit) if progress else None
    schedule = _Schedule(jobs, backend, overwrite, bar)
    try:
        while schedule.ready or schedule.in_flight:
            schedule.submit_ready()
            schedule.collect()
    finally:
        if bar is not None:
            bar.close()
    return Summary(jobs, [schedule.outcomes[i] for i in range(len(jobs))],
                   time.perf_counter() - started, backend.description)


class _Schedule:
    """The jobs while they run: those ready to start (a job waits for the one it comes
    ``after``), those on the backend, and the outcomes so far."""

    def __init__(self, jobs: Sequence[ImageJob], backend: Backend, overwrite: bool,
                 bar: Any) -> None:
        self.jobs, self.backend, self.overwrite, self.bar = jobs, backend, overwrite, bar
        self.outcomes: dict[int, JobOutcome] = {}
        self.dependents = _dependents(jobs)
        self.ready = deque(i for i, job in enumerate(jobs) if job.after is None)
        self.in_flight: dict[Any, int] = {}

    def submit_ready(self) -> None:
        """Start ready jobs while the backend has free slots (a job already done, or one
        that cannot run, gets its outcome without starting)."""
        while self.ready and len(self.in_flight) < self.backend.slots:
            index = self.ready.popleft()
            prepared = _prepared(index, self.jobs, self.outcomes, self.overwrite)
            if isinstance(prepared, JobOutcome):
                self.finish(index, prepared)
            else:
                self.in_flight[self.backend.submit(prepared)] = index

    def collect(self) -> None:
        """Wait for the backend to finish some of the jobs in flight."""
        if self.in_flight:
            for handle, outcome in self.backend.wait(list(self.in_flight)):
                self.finish(self.in_flight.pop(handle), outcome)

    def finish(self, index: int, outcome: JobOutcome) -> None:
        self.outcomes[index] = outcome
        self.ready.extend(self.dependents.get(index, ()))
        if self.bar is not None:
            self.bar.update(1)
            counts = status_counts(self.outcomes.values())
            self.bar.set_postfix_str(" ".join(f"{s} {n}" for s, n in counts.items()),
                                     refresh=False)


def _progress_bar(total: int, unit: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, dynamic_ncols=True, file=sys.stderr)


def print_summary(summary: Summary, what: str) -> None:
    """The end-of-run report on stderr, failures with their reasons."""
    lines = summary.lines()
    print(f"{what}: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(line, file=sys.stderr)
