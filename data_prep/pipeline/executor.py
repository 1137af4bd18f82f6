"""Run a step over its units of work: in this process, in a process pool, or on Ray.

Steps are top-level functions ``step(plan, unit)`` returning a small JSON-able
dict, so the same units can be handed to any executor. Two are built in
(``prep.executor``):

* ``local`` -- :class:`LocalExecutor`: one ``spawn`` process pool for the whole
  run (worker start-up and model loading are paid once);
* ``ray`` -- :class:`~data_prep.pipeline.ray_executor.RayExecutor`: every unit
  is a Ray task, on a local Ray instance or a cluster.

Both show one progress bar over all units of the run, with pairs/s, on the
driver (:class:`UnitProgress`). The first failing unit cancels the rest and its
error (e.g. a :class:`~lmt.errors.DataError` naming file and line) is re-raised.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Optional, Sequence

from lmt.log import progress


def call_unit(fn: Callable, plan: Any, unit: Any) -> Any:
    """Run one unit in the current process (prepares the process first)."""
    plan.setup()
    return fn(plan, unit)


class UnitProgress:
    """One bar over every unit of a run; the total grows as steps add units.

    The postfix shows the current step's count and the pairs/s of the units
    that report ``pairs`` (``count_pairs``), since the first unit was added.
    """

    def __init__(self) -> None:
        self._bar: Any = None
        self.pairs = 0  # pairs reported by the finished units (count_pairs)
        self.units = 0  # units announced so far
        self._start = 0.0
        self._step: list = ["", 0, 0, "unit"]  # name, done, total, unit name

    def add(self, n: int, desc: str, unit: str = "unit") -> None:
        """Announce ``n`` more units of step ``desc``."""
        if self._bar is None:
            self._bar = progress(total=0, desc="prep", unit="unit")
            self._start = time.time()
        if self._step[0] != desc:
            self._step = [desc, 0, 0, unit]
        self._step[2] += n
        self.units += n
        self._bar.total = self.units
        self._show()

    def done(self, result: Any, count_pairs: bool = False) -> None:
        """Count one finished unit (and its ``pairs`` with ``count_pairs``)."""
        if count_pairs and isinstance(result, dict):
            self.pairs += int(result.get("pairs", 0))
        self._step[1] += 1
        self._bar.update(1)
        self._show()

    def _show(self) -> None:
        desc, done, total, unit = self._step
        rate = self.pairs / max(time.time() - self._start, 1e-9)
        self._bar.set_postfix_str(f"{desc} {done}/{total} {unit}, {rate:,.0f} pairs/s", refresh=False)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Executor:
    """What the runner needs from an executor: submit, gather, map, ingest.

    Use as a context manager so workers are stopped on errors too.
    """

    def __init__(self) -> None:
        self.progress = UnitProgress()

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers and close the bar."""
        self.progress.close()

    def submit(self, fn: Callable, plan: Any, unit: Any) -> Any:
        """Start ``fn(plan, unit)``; returns a handle for :meth:`gather`."""
        raise NotImplementedError

    def gather(self, handles: Sequence[Any], desc: str, unit: str = "shard", count_pairs: bool = False) -> list[Any]:
        """Wait for ``handles`` (one bar tick each); results in their order.

        Raises:
            The first unit's error; the other pending units are cancelled.
        """
        raise NotImplementedError

    def map(self, fn: Callable, plan: Any, units: Sequence[Any], desc: str, unit: str = "shard", count_pairs: bool = False) -> list[Any]:
        """Run ``fn(plan, u)`` for every unit; results in the order of ``units``."""
        units = list(units)
        return self.gather([self.submit(fn, plan, u) for u in units], desc, unit, count_pairs)

    def ingest(
        self, ingest_fn: Callable, plan: Any, corpora: Iterable[int], then: Callable
    ) -> tuple[list[Any], list[tuple[int, int]], list[Any]]:
        """Ingest every corpus and start ``then(plan, (corpus, chunk))`` per chunk.

        Returns:
            ``(ingest results in corpus order, (corpus, chunk) ids in that
            order, the handles of the ``then`` units in the same order)``.
        """
        raise NotImplementedError


class LocalExecutor(Executor):
    """Runs steps with ``num_workers`` processes (1: inline, in submission order)."""

    def __init__(self, num_workers: int = 1) -> None:
        super().__init__()
        self.num_workers = max(1, int(num_workers))
        self._pool: Optional[ProcessPoolExecutor] = None

    def close(self) -> None:
        """Stop the worker processes (pending units are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        super().close()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: workers never inherit locks/threads (tqdm, fastText) of the parent.
            self._pool = ProcessPoolExecutor(max_workers=self.num_workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def submit(self, fn: Callable, plan: Any, unit: Any) -> Future:
        """Start ``fn(plan, unit)``: in a worker, or right here when inline."""
        if self.num_workers > 1:
            return self._get_pool().submit(call_unit, fn, plan, unit)
        fut: Future = Future()
        try:
            fut.set_result(call_unit(fn, plan, unit))
        except BaseException as err:  # re-raised by gather, like a worker's error
            fut.set_exception(err)
            if not isinstance(err, Exception):
                raise
        return fut

    def gather(self, futures: Sequence[Future], desc: str, unit: str = "shard", count_pairs: bool = False) -> list[Any]:
        futures = list(futures)
        index = {f: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        if not futures:
            return results
        self.progress.add(len(futures), desc, unit)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                err = fut.exception()
                if err is not None:
                    for other in pending:
                        other.cancel()
                    self.close()
                    raise err
                results[index[fut]] = fut.result()
                self.progress.done(results[index[fut]], count_pairs)
        return results

    def map(self, fn: Callable, plan: Any, units: Sequence[Any], desc: str, unit: str = "shard", count_pairs: bool = False) -> list[Any]:
        if self.num_workers > 1:
            return super().map(fn, plan, units, desc, unit, count_pairs)
        # Inline: run one by one under the bar (an error stops at once).
        units = list(units)
        self.progress.add(len(units), desc, unit)
        results = []
        for u in units:
            results.append(call_unit(fn, plan, u))
            self.progress.done(results[-1], count_pairs)
        return results

    def ingest(self, ingest_fn: Callable, plan: Any, corpora: Iterable[int], then: Callable):
        """Read the corpora here, one after the other; each chunk goes to a worker
        as soon as it is on disk, so reading overlaps the ``then`` step."""
        corpora = list(corpora)
        ids: list[tuple[int, int]] = []
        handles: list[Future] = []
        results = []
        self.progress.add(len(corpora), "ingest", "corpus")
        for c in corpora:

            def start(k: int, c: int = c) -> None:
                ids.append((c, k))
                handles.append(self.submit(then, plan, (c, k)))

            results.append(ingest_fn(plan, c, on_chunk=start))
            self.progress.done(results[-1])
        return results, ids, handles


def make_executor(prep: Any, num_workers: Optional[int] = None) -> Executor:
    """The executor ``prep.executor`` names, with ``num_workers`` (default ``prep.num_workers``)."""
    workers = num_workers or prep.num_workers
    if prep.executor == "ray":
        from data_prep.pipeline.ray_executor import RayExecutor  # Ray is an optional extra

        return RayExecutor.from_config(prep.ray, workers)
    return LocalExecutor(workers)
