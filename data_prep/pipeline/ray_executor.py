"""``prep.executor: ray``: every unit of the prep run is a Ray task.

The driver (``lmt prep``) keeps the plan, the manifest and the resume state;
workers only run units, each of which writes its files atomically and then its
done marker on the shared file system. So:

* a worker or node lost mid-unit: Ray reruns the task (``prep.ray.max_retries``;
  application errors are retried only for transient I/O errors, never for bad
  input) and the rerun writes the same bytes;
* a killed driver: rerun ``lmt prep``; finished units are skipped by their
  markers, only the missing ones run.

Without ``prep.ray.address`` a local Ray instance with ``num_workers`` CPUs is
started for the run (and stopped after it); ``auto`` or ``ray://host:port``
joins a running cluster (``ray start --head`` / ``ray start --address``) whose
nodes see the same paths and have this package installed. A Ray instance that
this process has already started (``ray.init``) is used as it is.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterable, Optional, Sequence

from data_prep.pipeline.executor import Executor, call_unit
from lmt.errors import MissingResourceError

#: Application errors worth another try on another worker: network file
#: systems and object transfers fail like this; bad input never does.
TRANSIENT_ERRORS = (ConnectionError, TimeoutError, InterruptedError)
#: Finished units collected per ``ray.wait`` call.
WAIT_BATCH = 256


def local_instance_options(num_workers: int) -> dict[str, Any]:
    """``ray.init`` arguments of the one-machine instance ``lmt prep`` starts itself.

    No dashboard and no metrics export: on one machine nobody scrapes them, and
    their agents poll (a measurable share of a small machine's CPU).
    """
    return {
        "num_cpus": max(1, int(num_workers)),
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "_system_config": {"enable_metrics_collection": False},
    }


def _ray():
    # Read by Ray at import: under `uv run`, Ray would start every worker through
    # `uv run` again (its uv runtime-env hook), which fails offline; the workers
    # share this interpreter's environment anyway.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise MissingResourceError("prep.executor: ray needs Ray: pip install 'lmt[ray]' (or pip install 'ray[default]')") from None
    return ray


class RayExecutor(Executor):
    """Runs units as Ray tasks (see the module docs).

    Args:
        num_workers: CPUs of a local instance started here (no ``address``).
        address: cluster to join (``auto``, ``ray://host:port``); None: local.
        num_cpus, memory, resources: what each task reserves.
        max_retries: reruns of a task whose worker died (and of transient errors).
    """

    def __init__(
        self,
        num_workers: int = 1,
        address: Optional[str] = None,
        num_cpus: float = 1.0,
        memory: Optional[int] = None,
        resources: Optional[dict] = None,
        max_retries: int = 3,
    ) -> None:
        super().__init__()
        ray = self._ray = _ray()
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, logging_level=logging.WARNING)
            else:
                ray.init(**local_instance_options(num_workers))
            self._started = True
        options: dict[str, Any] = {"num_cpus": num_cpus, "max_retries": max_retries, "retry_exceptions": list(TRANSIENT_ERRORS)}
        if memory:
            options["memory"] = memory
        if resources:
            options["resources"] = dict(resources)
        self._task = ray.remote(call_unit).options(**options)
        self._plan_key: Any = None
        self._plan_ref: Any = None

    @classmethod
    def from_config(cls, cfg: Any, num_workers: int) -> "RayExecutor":
        """From the ``prep.ray`` section."""
        return cls(num_workers, cfg.address, cfg.num_cpus, cfg.memory, cfg.resources, cfg.max_retries)

    def close(self) -> None:
        """Stop the local instance this executor started (a joined cluster stays up)."""
        if self._started:
            self._ray.shutdown()
            self._started = False
        super().close()

    def _plan(self, plan: Any) -> Any:
        # One copy of the plan in the object store per step, not one per task
        # (it changes only between steps: shards and buckets are set once).
        key = (id(plan), len(plan.shards), plan.buckets)
        if key != self._plan_key:
            self._plan_ref, self._plan_key = self._ray.put(plan), key
        return self._plan_ref

    def submit(self, fn: Callable, plan: Any, unit: Any) -> Any:
        """Start ``fn(plan, unit)`` as a Ray task; returns its ObjectRef."""
        return self._task.remote(fn, self._plan(plan), unit)

    def _wait(self, pending: list) -> tuple[list, list]:
        ready, rest = self._ray.wait(pending, num_returns=min(len(pending), WAIT_BATCH), timeout=0.5)
        if not ready:  # nothing within the timeout: block for the next one
            ready, rest = self._ray.wait(rest, num_returns=1)
        return ready, rest

    def _get(self, ref: Any, pending: Iterable) -> Any:
        """The result of a finished task; on error, cancel ``pending`` and raise the cause."""
        ray = self._ray
        try:
            return ray.get(ref)
        except Exception as err:
            for other in pending:
                ray.cancel(other)
            cause = getattr(err, "cause", None)
            if isinstance(err, ray.exceptions.RayTaskError) and isinstance(cause, Exception):
                raise cause from None  # the unit's own error (DataError naming the file...), as locally
            raise

    def gather(self, refs: Sequence[Any], desc: str, unit: str = "shard", count_pairs: bool = False) -> list[Any]:
        refs = list(refs)
        results: list[Any] = [None] * len(refs)
        if not refs:
            return results
        index = {ref: i for i, ref in enumerate(refs)}
        self.progress.add(len(refs), desc, unit)
        pending = refs
        while pending:
            ready, pending = self._wait(pending)
            for ref in ready:
                results[index[ref]] = self._get(ref, pending)
                self.progress.done(results[index[ref]], count_pairs)
        return results

    def ingest(self, ingest_fn: Callable, plan: Any, corpora: Iterable[int], then: Callable):
        """Ingest the corpora as parallel tasks; a corpus's chunks start as soon as it is read."""
        corpora = list(corpora)
        ingest = {self.submit(ingest_fn, plan, c): c for c in corpora}
        results: dict[int, Any] = {}
        started: dict[tuple[int, int], Any] = {}
        self.progress.add(len(corpora), "ingest", "corpus")
        pending = list(ingest)
        while pending:
            ready, pending = self._wait(pending)
            for ref in ready:
                c = ingest[ref]
                results[c] = self._get(ref, pending + list(started.values()))
                self.progress.done(results[c])
                for k in range(results[c]["chunks"]):
                    started[(c, k)] = self.submit(then, plan, (c, k))
        position = {c: i for i, c in enumerate(corpora)}
        ids = sorted(started, key=lambda ck: (position[ck[0]], ck[1]))  # as the local executor: corpus by corpus
        return [results[c] for c in corpora], ids, [started[i] for i in ids]


__all__ = ["RayExecutor", "TRANSIENT_ERRORS"]
