"""``run.ensemble``: a group of units (one per seed) run side by side, each training phase of theirs
trained as one batched model (petra.training.members).

The units run as cooperative threads: exactly one runs at a time, and the global generators
(Python's, NumPy's, torch's) are saved when a unit stops and restored when it goes on, so each unit
sees them exactly as it would alone. A unit that reaches a training phase (:func:`train_phase`)
stops there with its request; when every unit of the group has stopped or finished, requests for the
same phase train together as batched members, and each unit goes on with its result and its
generator where its lone training would have left it. Requests that cannot batch (a phase over
several corpora, a different phase after a resume, an LSTM) train one after another, as alone.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from petra.config import OptimConfig
from petra.data.batches import Batch
from petra.errors import PetraError
from petra.models import PetraModel
from petra.timing import TimeProfile
from petra.training.checkpoint import Checkpointer
from petra.training.loop import TrainResult, train
from petra.training.members import Member, check_members, train_members
from petra.training.objectives import JointObjective

def group_size(ensemble: str | int, on_cuda: bool) -> int:
    """Units per group for ``run.ensemble``. ``auto`` batches only where it was measured to pay:
    on this project's 2-core CPU, ``petra bench --preset demo --members S`` trained 3 batched members
    at 0.88x and 8 at 1.2x the speed of one model after another (vmap's per-step overhead against
    matrix products the cores already fill), before the unit's work that does not batch: off. On a
    GPU nothing is measured yet: off, until ``petra bench --members`` there says otherwise."""
    if ensemble == "off" or ensemble == "auto":
        return 1
    return int(ensemble)


log = logging.getLogger(__name__)
_local = threading.local()  # in a group's unit thread: .group (the Lockstep) and .index (its unit)


@dataclass
class _Generators:
    """The global generators' states: what a unit finds again when it goes on."""

    python: Any
    numpy: Any
    torch: torch.Tensor
    cuda: list[torch.Tensor] | None

    @staticmethod
    def capture() -> _Generators:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return _Generators(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


@dataclass
class _Request:
    model: PetraModel
    epoch_batches: Callable[[int], Iterable[Batch]]
    objective: Any
    cfg: OptimConfig
    steps_per_epoch: int
    checkpointer: Checkpointer | None
    evaluate: Callable[[PetraModel], float] | None
    eval_every: int
    key: str | None  # requests with the same key train together; None: alone
    generators: _Generators = field(default_factory=_Generators.capture)
    result: TrainResult | None = None
    error: BaseException | None = None
    seconds: float = 0.0  # this unit's share of the wall time its training took


def _key(objective, cfg: OptimConfig, steps_per_epoch: int, checkpointer: Checkpointer | None, eval_every: int,
         single_corpus: bool) -> str | None:
    """What must agree for requests to train as one model: one corpus (a mixture draws each step's
    language per seed), the same loss, optimisation, schedule and phase."""
    if not single_corpus or type(objective) is not JointObjective:
        return None
    o = objective
    loss = [o.task.name, o.task_weight, o.mlm_weight if o.mlm else None, o.mlm.mask_prob if o.mlm else None,
            o.token_dropout.prob if o.token_dropout else None]
    phase = None if checkpointer is None else [checkpointer.path.name, checkpointer.every, checkpointer.at_end]
    return json.dumps([loss, cfg.model_dump(mode="json"), steps_per_epoch, eval_every, phase])


def train_phase(model: PetraModel, epoch_batches: Callable[[int], Iterable[Batch]], objective, cfg: OptimConfig,
                steps_per_epoch: int, checkpointer: Checkpointer | None = None,
                evaluate: Callable[[PetraModel], float] | None = None, eval_every: int = 0,
                single_corpus: bool = False) -> TrainResult:
    """:func:`petra.training.loop.train`, or in a group's unit, the same training as part of one
    batched model with the group's other units (see the module's docstring)."""
    group = getattr(_local, "group", None)
    if group is None:
        return train(model, epoch_batches, objective, cfg, steps_per_epoch, checkpointer=checkpointer,
                     evaluate=evaluate, eval_every=eval_every)
    key = _key(objective, cfg, steps_per_epoch, checkpointer, eval_every, single_corpus)
    request = _Request(model, epoch_batches, objective, cfg, steps_per_epoch, checkpointer, evaluate, eval_every, key)
    return group.submit(_local.index, request)


class Lockstep:
    """Runs ``jobs`` (one per unit) as cooperative threads whose training phases batch; see the module."""

    def __init__(self, jobs: list[Callable[[], Any]]) -> None:
        self.jobs = jobs
        self.go = [threading.Semaphore(0) for _ in jobs]
        self.stopped = threading.Semaphore(0)
        self.requests: list[_Request | None] = [None] * len(jobs)
        self.finished = [False] * len(jobs)
        self.outcomes: list[Any] = [None] * len(jobs)
        self.errors: list[BaseException | None] = [None] * len(jobs)
        self.profiles: list[TimeProfile | None] = [None] * len(jobs)
        self.start_state = _Generators.capture()

    def attach(self, profile: TimeProfile) -> None:
        """The calling unit's time profile: the time it waits for the others is not its own."""
        self.profiles[_local.index] = profile

    def run(self) -> list[Any]:
        """Each job's return value; the first job's error is raised once every job has stopped."""
        threads = [threading.Thread(target=self._unit, args=(i,), daemon=True) for i in range(len(self.jobs))]
        for thread in threads:
            thread.start()
        while not all(self.finished):
            for i in [i for i, done in enumerate(self.finished) if not done]:
                self.go[i].release()  # unit i runs until it asks for training or finishes
                self.stopped.acquire()
            self._train([r for i, r in enumerate(self.requests) if r is not None and not self.finished[i]])
        for thread in threads:
            thread.join()
        for error in self.errors:
            if error is not None:
                raise error
        return self.outcomes

    def _unit(self, index: int) -> None:
        _local.group, _local.index = self, index
        self.go[index].acquire()
        self.start_state.restore()
        try:
            self.outcomes[index] = self.jobs[index]()
        except BaseException as error:  # noqa: BLE001 - handed to the caller by run()
            self.errors[index] = error
        finally:
            self.finished[index] = True
            self.stopped.release()

    def submit(self, index: int, request: _Request) -> TrainResult:
        self.requests[index] = request
        waiting = time.perf_counter()
        self.stopped.release()
        self.go[index].acquire()  # until the group's training has run
        self.requests[index] = None
        profile = self.profiles[index]
        if profile is not None:  # its share of the training stays in its open part; the rest was others' time
            profile.skip(time.perf_counter() - waiting - request.seconds)
        request.generators.restore()
        if request.error is not None:
            raise request.error
        return request.result

    def _train(self, requests: list[_Request]) -> None:
        groups: dict[str | None, list[_Request]] = {}
        for request in requests:
            groups.setdefault(request.key, []).append(request)
        for key, group in groups.items():
            batched = key is not None and len(group) > 1
            if batched:
                try:
                    check_members([_member(r) for r in group])
                except PetraError as reason:
                    log.info("%d units train one after another: %s", len(group), reason)
                    batched = False
            elif len(group) > 1:
                log.info("%d units train one after another: their phase draws each step's language per seed", len(group))
            try:
                (self._batched if batched else self._alone)(group)
            except Exception as error:  # noqa: BLE001 - each unit raises it where it asked for training
                for request in group:
                    request.error = error

    def _batched(self, group: list[_Request]) -> None:
        members = [_member(r) for r in group]
        first = group[0]
        start = time.perf_counter()
        results = train_members(members, first.cfg, first.steps_per_epoch, first.eval_every)
        share = (time.perf_counter() - start) / len(group)
        for request, member, result in zip(group, members, results):
            request.result, request.seconds = result, share
            _set_device_state(request, member.rng_state)  # where its lone training leaves the generator
        log.info("%d units trained %s as one batched model (%d steps each)", len(group),
                 first.checkpointer.path.stem if first.checkpointer else "a phase", results[0].steps)

    def _alone(self, group: list[_Request]) -> None:
        for request in group:
            request.generators.restore()
            start = time.perf_counter()
            request.result = train(request.model, request.epoch_batches, request.objective, request.cfg,
                                   request.steps_per_epoch, checkpointer=request.checkpointer,
                                   evaluate=request.evaluate, eval_every=request.eval_every)
            request.seconds = time.perf_counter() - start
            request.generators = _Generators.capture()


def _cuda_index(request: _Request) -> int | None:
    device = next(request.model.parameters()).device
    return None if device.type != "cuda" else (device.index if device.index is not None else torch.cuda.current_device())


def _member(request: _Request) -> Member:
    """The request as a member; its generator is the one its model draws from (the CPU's or its GPU's)."""
    index, states = _cuda_index(request), request.generators
    rng_state = states.torch if index is None else states.cuda[index]
    return Member(request.model, request.epoch_batches, request.objective, rng_state, request.checkpointer, request.evaluate)


def _set_device_state(request: _Request, state: torch.Tensor) -> None:
    index = _cuda_index(request)
    if index is None:
        request.generators.torch = state
    else:
        request.generators.cuda[index] = state
