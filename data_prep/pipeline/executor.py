"""Run a step over its units of work: in this process or in a process pool.

Steps are top-level functions ``step(plan, unit)`` returning a small JSON-able
dict, so the same units can be handed to any executor (a Slurm array, Ray,
datatrove...). Locally, :class:`LocalExecutor` keeps one ``spawn`` process pool
for the whole run (worker start-up and model loading are paid once) and shows a
progress bar per step. The first failing unit cancels the rest and its error
(e.g. a :class:`~lmt.errors.DataError` naming file and line) is re-raised.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Optional, Sequence

from lmt.log import progress


def _call(fn: Callable, plan: Any, unit: Any) -> Any:
    plan.setup()
    return fn(plan, unit)


class LocalExecutor:
    """Runs steps with ``num_workers`` processes (1: inline, in submission order).

    Use as a context manager so the pool is shut down on errors too.
    """

    def __init__(self, num_workers: int = 1) -> None:
        self.num_workers = max(1, int(num_workers))
        self._pool: Optional[ProcessPoolExecutor] = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (pending units are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: workers never inherit locks/threads (tqdm, fastText) of the parent.
            self._pool = ProcessPoolExecutor(max_workers=self.num_workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def submit(self, fn: Callable, plan: Any, unit: Any) -> Future:
        """Start ``fn(plan, unit)``: in a worker, or right here when inline."""
        if self.num_workers > 1:
            return self._get_pool().submit(_call, fn, plan, unit)
        fut: Future = Future()
        try:
            fut.set_result(_call(fn, plan, unit))
        except BaseException as err:  # re-raised by gather, like a worker's error
            fut.set_exception(err)
            if not isinstance(err, Exception):
                raise
        return fut

    def gather(self, futures: Sequence[Future], desc: str, unit: str = "shard") -> list[Any]:
        """Wait for ``futures`` (progress bar); results in their order.

        Raises:
            The first unit's error; the other pending units are cancelled.
        """
        futures = list(futures)
        index = {f: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        if not futures:
            return results
        bar = progress(total=len(futures), desc=desc, unit=unit)
        try:
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
                    bar.update(1)
            return results
        finally:
            bar.close()

    def map(self, fn: Callable, plan: Any, units: Sequence[Any], desc: str, unit: str = "shard") -> list[Any]:
        """Run ``fn(plan, u)`` for every unit; results in the order of ``units``."""
        if self.num_workers == 1:
            # Inline: run one by one under the bar (an error stops at once).
            results = []
            bar = progress(total=len(units), desc=desc, unit=unit)
            try:
                for u in units:
                    results.append(_call(fn, plan, u))
                    bar.update(1)
            finally:
                bar.close()
            return results
        return self.gather([self.submit(fn, plan, u) for u in units], desc, unit)
