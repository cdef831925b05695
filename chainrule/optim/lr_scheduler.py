"""Learning-rate schedules (``torch.optim.lr_scheduler``): they set ``group["lr"]`` of an optimizer.

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``; ``ReduceLROnPlateau.step``
takes the monitored metric.  Each schedule is written as a rule from the previous learning rate,
exactly as PyTorch's (so the two give the same sequence), and its closed form is in its docstring.
"""

from __future__ import annotations

import math
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
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current()

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest step, one per group."""
        return list(self._last_lr)

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
        own = self.state_dict()
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
