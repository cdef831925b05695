"""Learning-rate schedules (``torch.optim.lr_scheduler``): they set ``group["lr"]`` of an optimizer.

Call ``scheduler.step()`` once per epoch (``OneCycleLR``: once per batch), after
``optimizer.step()``; ``ReduceLROnPlateau.step`` takes the monitored metric.  Each schedule is
written as a rule from the previous learning rate, exactly as PyTorch's (so the two give the same
sequence, also when two schedulers share an optimizer), and its closed form is in its docstring;
``SequentialLR`` starts each later schedule from its closed form at epoch 0, as PyTorch does.
"""

from __future__ import annotations

import bisect
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.optim.optimizer import Optimizer, same_kind


class LRScheduler:
    """Base class: keeps ``base_lrs`` (the initial rates), ``last_epoch`` and the latest rates.

    Creating a scheduler takes step 0 (``last_epoch = 0``, the rates unchanged); each ``step()``
    adds one to ``last_epoch`` and sets every group's ``lr`` to :meth:`get_lr`.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not a chainrule optimizer; pass e.g. optim.SGD(...)")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in optimizer.param_groups):
            raise KeyError(
                "resuming a scheduler (last_epoch ≥ 0) needs 'initial_lr' in every parameter group; load "
                "the optimizer's state_dict first, or start with last_epoch=-1"
            )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Step 0: count no steps yet and set the rates of ``last_epoch + 1`` (the initial ones)."""
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rate of each group at ``last_epoch``, from the current rates."""
        raise NotImplementedError

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch and set the new learning rates."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Set the rates of the next epoch (:meth:`get_lr`), or of ``epoch`` itself from the closed
        form where the schedule has one (``_closed_form_lr``; how ``SequentialLR`` starts one)."""
        if epoch is None:
            self.last_epoch += 1
            rates = self.get_lr()
        else:
            self.last_epoch = epoch
            rates = self._closed_form_lr() if hasattr(self, "_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, rates):
            group["lr"] = lr
        self._last_lr = self._current()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest step, one per group."""
        return list(self._last_lr)

    _saved_apart: tuple[str, ...] = ()
    """State entries a subclass saves and restores itself (functions' attributes, inner schedulers),
    left out of the check in :meth:`load_state_dict`, which that subclass hands the rest."""

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (numbers and lists), as PyTorch's: with the
        optimizer's own ``state_dict`` it is all a resumed run needs (no ``last_epoch=``)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict` (also after a trip through JSON, which
        turns tuples into lists): the next ``step()`` continues the saved schedule.

        Raises
        ------
        ValueError
            If ``state_dict`` does not have exactly this scheduler's attributes, or a value is not
            of the kind the attribute holds (a number for a number, a list of the same length for
            a list, …); nothing is changed then.
        """
        own = {key: value for key, value in self.state_dict().items() if key not in self._saved_apart}
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != set(own):
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"a {name} state has exactly {sorted(own)}, got {got}; it belongs to another scheduler")
        for key, value in state_dict.items():
            if not same_kind(value, own[key]):
                raise ValueError(f"{name} state: {key!r} = {value!r} does not fit the attribute, which is {own[key]!r}")
        self.__dict__.update(
            {key: tuple(value) if isinstance(own[key], tuple) else value for key, value in state_dict.items()}
        )


class StepLR(LRScheduler):
    """Decay by γ every ``step_size`` epochs:  η_t = η₀ · γ^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if not (isinstance(step_size, int) and step_size > 0):
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η_t = η_{t−1} · γ when t is a positive multiple of step_size, else η_{t−1}."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Decay by γ every epoch:  η_t = η₀ · γᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η_t = η_{t−1} · γ."""
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from η₀ to η_min over ``T_max`` epochs (then back up, periodically):

    η_t = η_min + ½ (η₀ − η_min) (1 + cos(π t / T_max)).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive form of the cosine (it follows rates changed by hand too):

        η_t = η_min + (η_{t−1} − η_min) (1 + cos(π t / T)) / (1 + cos(π (t − 1) / T)),
        with the step out of a trough  η_t = η_{t−1} + (η₀ − η_min)(1 − cos(π / T)) / 2.
        """
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and t > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / period)) / 2 for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:
            rise = (1 - math.cos(math.pi / period)) / 2
            return [lr + (base - eta_min) * rise for lr, base in zip(self._current(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [eta_min + ratio * (lr - eta_min) for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


def _per_group(name: str, optimizer: Optimizer, value: Any) -> list:
    """``value`` for every parameter group: a list of one per group, or one value for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(
                f"{name} has {len(value)} values, the optimizer has {groups} parameter groups; give one each"
            )
        return list(value)
    return [value] * groups


class _FactorScheduler(LRScheduler):
    """Base of the schedules given as functions of the epoch (``lr_lambda``), one per group.

    Functions are not saved by :meth:`state_dict` (they are code); a callable object's attributes
    are, as PyTorch does, so build the scheduler with the same functions before loading a state.
    """

    _saved_apart = ("lr_lambdas",)

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self.lr_lambdas: list[Callable[[int], float]] = _per_group("lr_lambda", optimizer, lr_lambda)
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(f"lr_lambda must be a function of the epoch, got {type(function).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base class's, with ``lr_lambdas``: None for a function, a callable object's
        ``__dict__`` for an object."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(function, types.FunctionType) else dict(function.__dict__)
            for function in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state of :meth:`state_dict` (the functions stay the ones given when made)."""
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(f"the state has {len(saved)} lr_lambdas, this scheduler {len(self.lr_lambdas)}")
        super().load_state_dict(state)
        for function, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                function.__dict__.update(attributes)


class LambdaLR(_FactorScheduler):
    """The initial rate times a function of the epoch:  η_t = η₀ · λ(t).

    ``lr_lambda`` is one function ``λ(epoch) -> factor`` or a list of one per parameter group.

    Examples
    --------
    >>> scheduler = lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.95**epoch)
    """

    def get_lr(self) -> list[float]:
        """η_t = η₀ · λ(t)."""
        return [base * function(self.last_epoch) for function, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_FactorScheduler):
    """The previous rate times a function of the epoch:  η_t = η_{t−1} · λ(t)  (t ≥ 1),
    so η_t = η₀ · ∏_{s=1}^{t} λ(s)."""

    def get_lr(self) -> list[float]:
        """η_t = η_{t−1} · λ(t); unchanged at step 0."""
        if self._is_initial:
            return self._current()
        return [lr * function(self.last_epoch) for function, lr in zip(self.lr_lambdas, self._current())]


class MultiStepLR(LRScheduler):
    """Decay by γ at each milestone epoch:  η_t = η₀ · γ^(number of milestones ≤ t).

    A milestone given twice decays by γ² there, as in PyTorch.
    """

    def __init__(
        self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        milestones = list(milestones)
        if any(not isinstance(m, int) or isinstance(m, bool) for m in milestones):
            raise ValueError(f"MultiStepLR: milestones must be epoch numbers (integers), got {milestones!r}")
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η_t = η_{t−1} · γ^k where t is k times among the milestones."""
        hits = self.milestones.count(self.last_epoch)
        if not hits:
            return self._current()
        return [lr * self.gamma**hits for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """The initial rate times ``factor`` until epoch ``total_iters``, then the initial rate:
    η_t = η₀ · (factor if t < total_iters else 1)  (a warm-up, usually inside ``SequentialLR``)."""

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must lie in [0, 1], got {factor}")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η₀ · factor at t = 0, divided by factor again at t = total_iters, else unchanged."""
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        scale = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * scale for base in self.base_lrs]


class LinearLR(LRScheduler):
    """The factor on the initial rate goes linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then stays:

    η_t = η₀ · (s + (e − s) · min(t, total_iters) / total_iters).

    Written as PyTorch's rule from the previous rate,
    η_t = η_{t−1} · (1 + (e − s) / (total_iters · s + (t − 1)(e − s))).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must lie in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must lie in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The rule from the previous rate (see the class docstring)."""
        start, end, total, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [lr * start for lr in self._current()]
        if self._is_initial or t > total:
            return self._current()
        return [lr * (1.0 + (end - start) / (total * start + (t - 1) * (end - start))) for lr in self._current()]

    def _closed_form_lr(self) -> list[float]:
        start, end, total = self.start_factor, self.end_factor, self.total_iters
        return [base * (start + (end - start) * min(total, self.last_epoch) / total) for base in self.base_lrs]


class _Composite(LRScheduler):
    """Base of the schedulers made of other schedulers on one optimizer; their states are saved
    inside this one's (``_schedulers``)."""

    _saved_apart = ("_schedulers",)

    def _check(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
        name = type(self).__name__
        if not schedulers:
            raise ValueError(f"{name} needs at least one scheduler")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau) or not isinstance(scheduler, LRScheduler):
                raise TypeError(
                    f"{name}: scheduler {index} is a {type(scheduler).__name__}; only schedules of the epoch can be "
                    "combined (ReduceLROnPlateau steps on a metric: use it on its own)"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: scheduler {index} sets the rates of another optimizer; give them all one")

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's attributes and, under ``_schedulers``, each inner scheduler's state."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state of :meth:`state_dict`, inner schedulers included."""
        state = dict(state_dict)
        inner = state.pop("_schedulers", None)
        if not isinstance(inner, list) or len(inner) != len(self._schedulers):
            raise ValueError(f"the state needs one entry per inner scheduler ({len(self._schedulers)}) in _schedulers")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


class SequentialLR(_Composite):
    """One scheduler after another: ``schedulers[i]`` runs from epoch ``milestones[i − 1]`` on,
    restarted there at its epoch 0 (its closed form), as PyTorch's.

    Examples
    --------
    >>> warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
    >>> decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    >>> scheduler = lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[5])
    """

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int], last_epoch: int = -1
    ) -> None:
        self._check(optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones (the epochs where "
                f"each next one starts), got {len(milestones)}"
            )
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.optimizer, self.last_epoch = optimizer, last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:  # undo the step each took when it was made
            _undo_step(scheduler)
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch: the scheduler of this epoch steps (or starts, at its milestone)."""
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


def _undo_step(scheduler: LRScheduler) -> None:
    """Take back the epoch counted by a scheduler's first step (in each inner one, for composites)."""
    if isinstance(scheduler, _Composite):
        for inner in scheduler._schedulers:
            _undo_step(inner)
    else:
        scheduler.last_epoch -= 1


class ChainedScheduler(_Composite):
    """Several schedulers stepped together each epoch, each changing the rate the previous one
    left (``LinearLR`` warm-up on top of ``ExponentialLR`` decay, say)."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        optimizer = (optimizer or schedulers[0].optimizer) if schedulers else optimizer
        self._check(optimizer, schedulers)
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = self._current()

    def step(self) -> None:
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current()


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_i epochs (SGDR), T_0 first, each period T_mult times longer:

    η = η_min + ½ (η₀ − η_min) (1 + cos(π T_cur / T_i)),

    T_cur the epochs since the last restart.  ``step(epoch)`` takes a fractional epoch too
    (``step(epoch + batch / batches)`` after each batch), as PyTorch's.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803 - PyTorch's names
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive integer, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an integer ≥ 1, got {T_mult!r}")
        self.T_0, self.T_i, self.T_mult, self.eta_min, self.T_cur = T_0, T_0, T_mult, eta_min, last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """η_min + ½ (η₀ − η_min) (1 + cos(π T_cur / T_i))."""
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance one epoch, or go to ``epoch`` (fractional allowed), restarting where due."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be ≥ 0, got {epoch}")
        elif epoch >= self.T_0:
            if self.T_mult == 1:
                self.T_cur = epoch % self.T_0
            else:
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), stepped after every batch: the rate rises from
    η_max / div_factor to η_max over the first ``pct_start`` of ``total_steps``, then falls to
    η_max / (div_factor · final_div_factor); momentum (SGD's ``momentum``, Adam's β₁) moves the
    other way, from ``max_momentum`` down to ``base_momentum`` and back.

    Within a phase from (η_a, m_a) at step s_a to (η_b, m_b) at step s_b, with p = (t − s_a)/(s_b − s_a):
    η_t = η_b + (η_a − η_b)(1 + cos πp)/2 (``anneal_strategy="cos"``) or η_a + (η_b − η_a) p
    (``"linear"``), and the momentum likewise.  ``three_phase=True`` adds a third phase (the
    paper's schedule): up, down to the start, then down to the minimum.

    ``total_steps`` or both ``epochs`` and ``steps_per_epoch`` give the length; stepping past it
    is an error, as in PyTorch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not a chainrule optimizer; pass e.g. optim.SGD(...)")
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        elif isinstance(epochs, int) and isinstance(steps_per_epoch, int) and epochs > 0 and steps_per_epoch > 0:
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch (positive integers)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.optimizer, self.total_steps, self._anneal_func_type = optimizer, total_steps, anneal_strategy
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * total_steps) - 2, "start_lr": "max_lr", "end_lr": "initial_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        else:
            self._schedule_phases = [
                {"end_step": up, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]  # fmt: skip
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, top in zip(groups, _per_group("max_lr", optimizer, max_lr)):
                group["initial_lr"], group["max_lr"] = top / div_factor, top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"OneCycleLR: {type(optimizer).__name__} has neither momentum nor betas to cycle; "
                    "pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("max_momentum", optimizer, max_momentum)
            lows = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def get_lr(self) -> list[float]:
        """The rate at step ``last_epoch`` of its phase (see the class docstring); sets the
        momentum (or β₁) of each group on the way when cycling it."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step} times, beyond its total_steps = {self.total_steps}; make it with the "
                "number of batches the run takes (epochs · steps_per_epoch)"
            )
        rates = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or index == len(self._schedule_phases) - 1:
                    fraction = (step - start) / (end - start)
                    rates.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], fraction))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], fraction)
                        self._set_momentum(group, momentum)
                    break
                start = end
        return rates


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rates by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    An epoch improves on the best value so far when (``mode="min"``) the metric is below
    best · (1 − threshold) (``threshold_mode="rel"``) or best − threshold (``"abs"``); ``"max"``
    mirrors this.  After more than ``patience`` epochs without improvement each rate becomes
    max(lr · factor, min_lr) (changes smaller than ``eps`` are skipped), then ``cooldown`` epochs
    pass before bad epochs count again.

    Examples
    --------
    >>> scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
    >>> scheduler.step(val_loss)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not a chainrule optimizer; pass e.g. optim.SGD(...)")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        groups = optimizer.param_groups
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(min_lrs) != len(groups):
            raise ValueError(f"ReduceLROnPlateau: expected {len(groups)} min_lr values, got {len(min_lrs)}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.min_lrs, self.eps = threshold_mode, cooldown, min_lrs, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current()

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            return value < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """Record one epoch's metric (a number or a one-element tensor) and reduce the rates if due."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._current()
