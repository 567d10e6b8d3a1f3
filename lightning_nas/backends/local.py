"""The local backend: a pool of spawned worker processes on this machine (never fork: torch and CUDA
may already be initialised in the search process). Each worker receives the evaluator once, when it
starts, and trains one candidate at a time at the evaluator's thread count.

At most `workers` candidates are in flight, so a worker that dies (segfault, OOM kill) can only have
taken down the candidates that were running. Every candidate that failed - it raised, its score was not
finite, or it was running when a worker died - is tried once more, alone, on a fresh worker; if that
fails too it comes back as a CandidateFailure. Ctrl-C or an early stop kills the workers."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from lightning_nas.backends import BACKENDS, worker
from lightning_nas.backends.base import BackendPlugin, CandidateFailure, error_text
from lightning_nas.backends.resources import local_workers, uses_gpu, visible_gpus

if TYPE_CHECKING:
    from lightning_nas.config import RunConfig
    from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
    from lightning_nas.spaces.base import Genotype

WORKER_DIED = "worker process died (killed, out of memory or crashed) while this candidate was training"


@BACKENDS.register("local")
class LocalBackend(BackendPlugin):
    name = "local"

    def __init__(self, cfg: RunConfig) -> None:
        self.workers = local_workers(cfg)
        self.gpus = visible_gpus() if uses_gpu(cfg) else 0
        self.evaluator: RMIEvaluator | None = None
        self._pool: ProcessPoolExecutor | None = None

    def start(self, evaluator: RMIEvaluator) -> None:
        self.evaluator = evaluator

    def pool(self) -> ProcessPoolExecutor:
        """The worker pool, started on first use (kept across generations, replaced after a worker died)."""
        if self._pool is None:
            self._pool = self._new_pool(self.workers)
        return self._pool

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        assert self.evaluator is not None, "start() first"
        ctx = mp.get_context("spawn")
        with _workers_start_deaf_to_ctrl_c():  # the shared counter may start multiprocessing's resource tracker
            return ProcessPoolExecutor(
                workers,
                mp_context=ctx,
                initializer=worker.init_local_worker,
                initargs=(self.evaluator, os.getpid(), ctx.Value("i", 0), self.gpus),
            )

    def map(self, genotypes: Sequence[Genotype]) -> Iterator[tuple[int, ProxyResult | CandidateFailure]]:
        failed: dict[int, str] = {}
        try:
            yield from self._first_attempts(genotypes, failed)
            for i in sorted(failed):
                yield i, self._retry_alone(genotypes[i])
        except BaseException:  # Ctrl-C, or the consumer stopped early: no worker trains on
            self.close()
            raise

    def _first_attempts(
        self, genotypes: Sequence[Genotype], failed: dict[int, str]
    ) -> Iterator[tuple[int, ProxyResult]]:
        pending = deque(range(len(genotypes)))
        inflight: dict[Future[ProxyResult], int] = {}
        while pending or inflight:
            pool = self.pool()
            with _workers_start_deaf_to_ctrl_c():
                while pending and len(inflight) < self.workers:
                    i = pending.popleft()
                    inflight[pool.submit(worker.score_local, genotypes[i])] = i
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                i = inflight.pop(future)
                try:
                    yield i, future.result()
                except BrokenProcessPool:
                    broken, failed[i] = True, WORKER_DIED
                except Exception as exc:  # noqa: BLE001 - isolated, retried below
                    failed[i] = error_text(exc)
            if broken:  # every candidate still in flight went down with the pool
                failed.update({i: WORKER_DIED for i in inflight.values()})
                inflight.clear()
                self.close()

    def _retry_alone(self, genotype: Genotype) -> ProxyResult | CandidateFailure:
        pool = self._new_pool(1)
        try:
            with _workers_start_deaf_to_ctrl_c():
                future = pool.submit(worker.score_local, genotype)
            return future.result()
        except BrokenProcessPool:
            return CandidateFailure(WORKER_DIED)
        except Exception as exc:  # noqa: BLE001
            return CandidateFailure(error_text(exc))
        finally:  # also on Ctrl-C: the retry's worker never outlives it
            _stop(pool)

    def close(self) -> None:
        if self._pool is not None:
            _stop(self._pool)
            self._pool = None


@contextlib.contextmanager
def _workers_start_deaf_to_ctrl_c() -> Iterator[None]:
    """Around `submit` (where a spawn pool starts its processes): SIGINT ignored in this process, so the
    workers it starts ignore it from their first instruction (an ignored signal stays ignored across exec,
    and Python then installs no KeyboardInterrupt handler). Otherwise a Ctrl-C while a worker still
    imports torch prints a worker traceback; the search process alone answers Ctrl-C. A Ctrl-C inside
    this window (a few milliseconds per submit) is not seen."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut a pool down without waiting for a candidate in training: its workers are killed."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.kill()
    for p in processes:
        p.join(timeout=10)
