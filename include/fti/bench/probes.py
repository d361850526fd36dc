"""Timing the steps of a real pipeline call from the outside: wrap chosen functions, run, unwrap.

A benchmark runs the pipeline's own step (``validate_raw``, ``train_and_register`` ...) unchanged and
learns where its time went by *probes*: named functions of the real code (``owner.attribute``, a
module or a class) replaced, for the duration of a ``with`` block, by a wrapper that adds each call's
wall time to its step. Steps nest: a probed call inside another probed call is recorded under the
path ``outer/inner``, so the same function (e.g. a validation) can be told apart by the step that
called it, and :meth:`StepClock.exclusive` gives a step's time without its probed children.

A probe whose function no longer exists fails loudly (:class:`ProbeMissing`): the benchmark must
follow the code, not silently time nothing.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from fti.bench.child import memory_mb


class ProbeMissing(AttributeError):
    """A probe names a function that is not there (or is not a plain function)."""


@dataclass(frozen=True)
class Probe:
    """Time every call of ``owner.attribute`` as step ``step``.

    ``owner`` is the module (or class) where callers look the function up at call time: a
    ``from m import f`` at the top of module ``n`` needs the probe on ``n``, not on ``m``.
    """

    step: str
    owner: Any
    attribute: str
    memory: bool = True
    """Also read the process's peak memory when a call returns."""


class StepClock:
    """Inclusive seconds, calls and peak memory of each probed step, by nesting path."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.peak_mb: dict[str, list[float]] = defaultdict(list)
        """``VmHWM`` when each call of the step returned: the step that raises it holds the peak."""
        self._stack: list[str] = []

    @contextmanager
    def watching(self, probes: Sequence[Probe]) -> Iterator[StepClock]:
        """Every probe in place for the block; the originals are back afterwards, even on errors.

        Raises:
            ProbeMissing: a probe's function does not exist or is not a plain function.
        """
        with ExitStack() as stack:
            for probe in probes:
                stack.enter_context(self._patched(probe))
            yield self

    def exclusive(self, path: str) -> float:
        """Seconds of ``path`` minus the seconds of its probed direct children."""
        return exclusive(self.seconds, path)

    def total(self, *paths: str) -> float:
        """Inclusive seconds of ``paths`` added up (a path never called counts 0)."""
        return sum(self.seconds.get(p, 0.0) for p in paths)

    @contextmanager
    def _patched(self, probe: Probe) -> Iterator[None]:
        try:
            original = inspect.getattr_static(probe.owner, probe.attribute)
        except AttributeError as exc:
            raise ProbeMissing(f"probe {probe.step!r}: {_name(probe)} does not exist") from exc
        if not inspect.isfunction(original):
            raise ProbeMissing(
                f"probe {probe.step!r}: {_name(probe)} is {type(original).__name__}, not a function"
            )
        own = inspect.isclass(probe.owner) and probe.attribute in vars(probe.owner)
        setattr(probe.owner, probe.attribute, self._timed(probe, original))
        try:
            yield
        finally:
            if inspect.isclass(probe.owner) and not own:
                delattr(probe.owner, probe.attribute)  # the inherited function shows through again
            else:
                setattr(probe.owner, probe.attribute, original)

    def _timed(self, probe: Probe, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            path = "/".join([*self._stack, probe.step])
            self._stack.append(probe.step)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[path] += time.perf_counter() - started
                self.calls[path] += 1
                self._stack.pop()
                if probe.memory:
                    self.peak_mb[path].append(memory_mb()["VmHWM"])

        return timed


def exclusive(seconds: Mapping[str, float], path: str) -> float:
    """Seconds of ``path`` minus those of its direct children (``path/child``) in ``seconds``."""
    children = [k for k in seconds if k.startswith(path + "/") and "/" not in k[len(path) + 1 :]]
    return seconds.get(path, 0.0) - sum(seconds[k] for k in children)


def _name(probe: Probe) -> str:
    owner = getattr(probe.owner, "__name__", type(probe.owner).__name__)
    return f"{owner}.{probe.attribute}"
