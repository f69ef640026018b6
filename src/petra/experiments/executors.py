"""Where units run: in this process, in a local process pool, or on a Ray cluster.

Every executor returns each unit's result as soon as it finishes (so the caller can store it at
once and a crash loses only unfinished units) and retries a failed unit ``retries`` times.
Results do not depend on the executor: units are seeded by their identity, not by where they run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from petra.errors import PetraError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A unit that failed every attempt; the others still complete and are stored."""

    job: int
    error: str


def _retrying(fn: Callable, args: tuple, retries: int) -> Any:
    for attempt in range(retries + 1):
        try:
            return fn(*args)
        except (KeyboardInterrupt, PetraError):
            raise  # an interrupt or a user error does not get better by retrying
        except Exception as exc:  # noqa: BLE001 - a trial may fail for any reason; retry it
            if attempt == retries:
                raise
            log.warning("trial failed (%s: %s); retry %d of %d", type(exc).__name__, exc, attempt + 1, retries)


class LocalExecutor:
    """Serial (``workers`` <= 1) or a process pool; spawn, since forking a process that has used
    torch's thread pools can deadlock."""

    def __init__(self, workers: int, retries: int = 1) -> None:
        self.workers, self.retries = workers, retries

    def map(self, fn: Callable, jobs: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        if self.workers <= 1:
            for i, job in enumerate(jobs):
                yield i, _settle(lambda: _retrying(fn, job, self.retries), i)
            return
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending: dict[Future, int] = {pool.submit(_retrying, fn, job, self.retries): i for i, job in enumerate(jobs)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    yield i, _settle(future.result, i)


class RayExecutor:
    """One Ray task per unit (Ray retries failed tasks itself). ``address`` None starts a local
    Ray instance sized to ``workers`` CPUs; otherwise it joins that cluster. ``gpus``: the GPUs
    each task asks Ray for (fractions share a GPU; Ray then sets the task's CUDA_VISIBLE_DEVICES)."""

    def __init__(self, workers: int, retries: int = 1, address: str | None = None, gpus: float = 0.0) -> None:
        self.workers, self.retries, self.address, self.gpus = workers, retries, address, gpus

    def map(self, fn: Callable, jobs: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        import ray

        started_here = not ray.is_initialized()
        if started_here:
            options = {"address": self.address} if self.address else {"num_cpus": self.workers}
            ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False, **options)
        try:
            task = ray.remote(num_cpus=1, num_gpus=self.gpus, max_retries=self.retries, retry_exceptions=True)(fn)
            pending = {task.remote(*job): i for i, job in enumerate(jobs)}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                i = pending.pop(done[0])
                yield i, _settle(lambda: ray.get(done[0]), i)
        finally:
            if started_here:
                ray.shutdown()


def _settle(get: Callable[[], Any], job: int) -> Any:
    """The job's result, or a Failure that names it; user errors and interrupts propagate."""
    try:
        return get()
    except (KeyboardInterrupt, PetraError):
        raise
    except Exception as exc:  # noqa: BLE001
        cause = getattr(exc, "cause", None) or exc  # Ray wraps the task's exception
        if isinstance(cause, PetraError):
            raise cause from None
        return Failure(job, f"{type(cause).__name__}: {cause}")


def make_executor(kind: str, workers: int, retries: int = 1, address: str | None = None, gpus: float = 0.0):
    if kind == "local":
        return LocalExecutor(workers, retries)
    if kind == "ray":
        return RayExecutor(workers, retries, address, gpus)
    raise PetraError(f"unknown executor {kind!r}; use 'local' or 'ray'")


def local_executor(workers: int, units: int) -> LocalExecutor:
    """A local pool of ``workers`` processes (0: one per CPU core), never more than there are units."""
    return LocalExecutor(min(workers or os.cpu_count() or 1, units))


@dataclass(frozen=True)
class Completed:
    results: list[Any]  # in job order, whatever order the jobs finished in; None for a job that failed every retry
    failures: list[tuple[int, str]]  # (job, error) for each job that failed every retry
    reused: int  # jobs whose result was already in the store


def run_all(executor, fn: Callable, jobs: Sequence[tuple], on_done: Callable[[int], None] | None = None,
            store=None, keys: Sequence[str] | None = None) -> Completed:
    """Every job on ``executor``; ``on_done(i)`` runs as job i finishes. With a ``store`` (and one key
    per job), each result is kept the moment it arrives and a job already kept is not run again, so
    an interrupted run resumes where it stopped."""
    results: list[Any] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    if store is not None:
        pending = [i for i in pending if not store.has_unit(keys[i])]
        for i in (i for i in range(len(jobs)) if i not in pending):
            results[i] = store.unit(keys[i])
            if on_done is not None:
                on_done(i)
    failures: list[tuple[int, str]] = []
    for n, result in executor.map(fn, [jobs[i] for i in pending]) if pending else ():
        i = pending[n]
        if isinstance(result, Failure):
            failures.append((i, result.error))
        else:
            results[i] = result
            if store is not None:
                store.put_unit(keys[i], result)
        if on_done is not None:
            on_done(i)
    return Completed(results, failures, len(jobs) - len(pending))


def run_units(config, fn: Callable, units: Sequence[tuple], job: Callable[[tuple], tuple], executor=None,
              on_unit_done: Callable[..., None] | None = None, store=None) -> Completed:
    """An experiment's units (tuples that name them: (encoding, seed), (task, encoding, seed)) as
    ``fn(*job(unit))`` on ``executor`` (default: a local pool of ``config.run.workers`` processes),
    each kept in ``store`` under ``config.unit_key`` as it finishes; failures name their unit."""
    keys = [config.unit_key(unit=list(unit)) for unit in units] if store is not None else None
    executor = executor or local_executor(config.run.workers, len(units))
    done = None if on_unit_done is None else (lambda i: on_unit_done(*units[i]))
    completed = run_all(executor, fn, [job(unit) for unit in units], done, store, keys)
    failures = [(i, f"{' '.join(map(str, units[i]))}: {error}") for i, error in completed.failures]
    return Completed(completed.results, failures, completed.reused)
