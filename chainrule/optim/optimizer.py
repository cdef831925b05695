"""``Optimizer``: the base class that holds parameter groups and per-parameter state."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from operator import is_, itemgetter
from typing import Any, NamedTuple

from chainrule import backend


class Optimizer:
    """Base class of the optimizers, as ``torch.optim.Optimizer``.

    Parameters
    ----------
    params : iterable of Parameter, or of dicts
        The tensors to update, or parameter groups: dicts with a ``"params"`` list and options
        that override ``defaults`` for that group (e.g. another ``lr``).
    defaults : dict
        The options of every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        Each group's ``params`` and options; schedulers change ``group["lr"]`` here.
    state : dict
        Per-parameter state (momentum buffers, moment estimates, step counts), keyed by parameter.
    """

    foreach = False
    """Whether small parameter groups are packed into flat arrays and updated at once (:meth:`_pack`)."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Any, dict[str, Any]] = {}
        self._workspace: dict[Any, dict[int, Any]] = {}
        self._packs: dict[int, tuple] = {}  # group index → ((p, data view, grad view), …), data, grad; see _pack
        self._flat: dict[int, FlatState] = {}  # group index → its state as flat arrays; see _flat_state
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("the optimizer got an empty parameter list; pass model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options."""
        group = {**self.defaults, **group, "params": list(group["params"])}
        for parameter in group["params"]:
            if not parameter.requires_grad:
                raise ValueError("the optimizer can only update tensors with requires_grad=True")
        self.param_groups.append(group)
        if self.foreach:
            self._pack(len(self.param_groups) - 1)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (or zeroed in place with ``set_to_none=False``)."""
        for group in self.param_groups:
            for parameter in group["params"]:
                if set_to_none or parameter.grad is None:
                    parameter.grad = None
                else:
                    parameter.grad[...] = 0

    def step(self) -> None:
        """One update of every parameter that has a gradient, in place.

        A group that :meth:`_flat_arrays` lays out is updated at once on flat arrays
        (:meth:`_step_flat`), as PyTorch's ``foreach`` updates do; any other parameter by
        parameter (:meth:`_step_one`).
        """
        for index, group in enumerate(self.param_groups):
            flat = self._flat_arrays(index, group)
            if flat is not None:
                self._step_flat(group, *flat)
                continue
            self._flat.pop(index, None)  # one by one: lay the flat state out again next time
            for p in group["params"]:
                if p.grad is not None:
                    self._step_one(group, p)

    def _step_one(self, group: dict[str, Any], p: Any) -> None:
        """The update of parameter ``p`` of ``group``, in place."""
        raise NotImplementedError

    def _flat_arrays(self, index: int, group: dict[str, Any]) -> tuple | None:
        """The arguments of :meth:`_step_flat` after ``group``, for an update of group ``index`` at
        once, or ``None`` to update it parameter by parameter (always, unless overridden)."""
        return None

    def _step_flat(self, group: dict[str, Any], *arrays: Any) -> None:
        """The update of a whole group at once on the flat arrays of :meth:`_flat_arrays`."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The options of each group and the state of each parameter, by position.

        ``{"state": {index: {name: array or number}}, "param_groups": [{options, "params":
        [index, …]}]}``, with parameters numbered across groups as PyTorch does.  Arrays are
        copies, so the saved state does not change as training goes on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for parameter in group["params"]:
                index[id(parameter)] = len(index)
                ids.append(index[id(parameter)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {
            index[id(p)]: {name: _copy(value) for name, value in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and per-parameter state saved by :meth:`state_dict` (also after a trip
        through JSON, which turns tuples into lists and keys into strings).

        Saved parameters are matched to this optimizer's by position, group by group, as PyTorch
        does; array state (0-d included) comes back as arrays in each parameter's dtype, step
        counts as ints.

        Raises
        ------
        ValueError
            If the groups differ in number or size, an option is unknown to this optimizer or of
            another kind (a string for ``lr``), a state names no parameter, or an array's shape
            is not its parameter's.  Everything is checked before anything changes.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("an optimizer state has exactly 'state' and 'param_groups' (from Optimizer.state_dict())")
        groups = state_dict["param_groups"]
        if (
            not isinstance(groups, list)
            or len(groups) != len(self.param_groups)
            or any(
                not isinstance(saved, dict) or len(saved.get("params", ())) != len(own["params"])
                for saved, own in zip(groups, self.param_groups)
            )
        ):
            raise ValueError("the optimizer state does not match these parameter groups (different sizes)")
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            for key, value in saved.items():
                if key != "params" and not ((key in own or key == "initial_lr") and same_kind(value, own.get(key))):
                    raise ValueError(
                        f"optimizer state: group {i} option {key!r} = {value!r} does not fit a "
                        f"{type(self).__name__} (its value here is {own.get(key)!r})"
                    )
        by_number = {
            int(number): p
            for saved, own in zip(groups, self.param_groups)
            for number, p in zip(saved["params"], own["params"])
        }
        state = {}
        for key, saved in state_dict["state"].items():
            parameter = by_number.get(int(key)) if str(key).isdigit() else None
            if parameter is None or not isinstance(saved, dict):
                raise ValueError(f"optimizer state: entry {key!r} names no parameter of these groups")
            state[parameter] = {name: _restore(name, value, parameter) for name, value in saved.items()}
        for own, saved in zip(self.param_groups, groups):
            own.update({k: tuple(v) if isinstance(own.get(k), tuple) else v for k, v in saved.items() if k != "params"})
        self.state = state

    def _work(self, parameter: Any, slot: int = 0) -> Any:
        """A scratch array shaped like ``parameter``, kept between steps so updates allocate nothing.

        ``slot`` tells apart the buffers one update needs at the same time.  Not part of the state.
        """
        buffers = self._workspace.setdefault(parameter, {})
        buffer = buffers.get(slot)
        if buffer is None or buffer.shape != parameter.data.shape or buffer.dtype != parameter.data.dtype:
            buffer = buffers[slot] = backend.xp.empty_like(parameter.data)
        return buffer

    def _pack(self, index: int) -> None:
        """Lay the parameters of group ``index`` end to end in one flat array, if they are small.

        Small parameters are updated at once, as PyTorch's ``foreach`` updates do: below
        :data:`FOREACH_LIMIT` numbers the cost of an update is the fixed cost of each array
        operation, not the arithmetic.  Each ``p.data`` becomes a view of the flat array (same
        values, same shape; an array taken from ``p.data`` after this keeps seeing the updates),
        so that one in-place operation updates them all; a flat gradient buffer of the same layout
        receives the gradients at each step (:meth:`_packed`).  Done when the group is added, so
        an optimizer that packs must be made before arrays are taken from ``p.data`` to be watched.
        """
        params = self.param_groups[index]["params"]
        dtype = params[0].data.dtype
        if (
            len(params) < 2
            or sum(p.data.size for p in params) > FOREACH_LIMIT
            or any(p.data.dtype != dtype for p in params)
            or len({id(p) for p in params}) != len(params)
        ):
            return
        xp = backend.xp
        data = xp.concatenate([p.data for p in params], axis=None)
        grad = xp.empty_like(data)
        views = split_like(data, params)
        for p, view in zip(params, views):
            p.data = view
        self._packs[index] = (tuple(zip(params, views, split_like(grad, params))), data, grad)

    def _packed(self, index: int) -> tuple | None:
        """(flat data, flat gradient) of group ``index`` with this step's gradients copied into the
        flat gradient, if the group is packed (:meth:`_pack`), every parameter has a gradient and
        each ``p.data`` is still its view; else ``None`` (a parameter without a gradient this
        step, or ``p.data`` assigned, e.g. by ``Module.to``: then the parameters are updated one
        by one).

        The gradients are copied one by one into views of the flat gradient: for small arrays a
        copy costs less than a share of ``concatenate``, which flattens each input first.
        """
        cached = self._packs.get(index)
        if cached is None:
            return None
        entries, data, grad = cached
        if len(self.param_groups[index]["params"]) != len(entries):
            return None
        for p, view, grad_view in entries:
            if p.grad is None or p.data is not view:
                return None
            grad_view[...] = p.grad
        return data, grad

    def _flat_state(
        self, index: int, data: Any, names: tuple[str, ...], counted: bool = False, scratch: bool = False
    ) -> FlatState | None:
        """The state entries ``names`` of packed group ``index`` as flat arrays laid out like its flat
        ``data`` (:meth:`_packed`), for an update of the whole group at once; ``None`` if the
        parameters' states are at different points (some have the entries and some not, or, when
        ``counted``, their step counts differ), so that the group must be updated one by one.

        The :class:`FlatState` is made the first time, with each parameter's entries so far copied
        in (zeros where there are none yet; with ``counted``, a ``"step"`` count of 0; with
        ``scratch``, a scratch array ``work``), and kept while it holds (:meth:`FlatState.hold`).
        ``state[p][name]`` becomes a view of the flat array, so that ``state_dict`` and
        ``load_state_dict`` see per-parameter arrays as before; state restored by
        ``load_state_dict`` (new arrays) is copied into a new layout at the next step.  A step
        that updates the group one by one should drop the layout (``_flat.pop``).
        """
        params = self.param_groups[index]["params"]
        flat = self._flat.get(index)
        if flat is not None and flat.data is data and flat.hold(self.state, params):
            return flat
        states = [self.state.get(p) or {} for p in params]
        points = {(state.get("step", 0) if counted else 0, *(name in state for name in names)) for state in states}
        if len(points) != 1:
            return None
        xp = backend.xp
        arrays = tuple(xp.zeros_like(data) for _ in names)
        views = [split_like(array, params) for array in arrays]
        for i, (p, state) in enumerate(zip(params, states)):
            entries = {name: entry[i] for name, entry in zip(names, views)}
            for name, view in entries.items():
                if name in state:
                    view[...] = state[name]
            self.state[p] = {**({"step": 0} if counted else {}), **state, **entries}
        layout = tuple((itemgetter(name), tuple(entry)) for name, entry in zip(names, views))
        work = xp.empty_like(data) if scratch else None
        flat = FlatState(data, arrays, work, tuple(self.state[p] for p in params), layout)
        self._flat[index] = flat
        return flat

    def _decayed_grad(self, parameter: Any, weight_decay: float) -> Any:
        """:func:`decayed` for one parameter, into its scratch slot 1."""
        if not weight_decay:
            return parameter.grad
        return decayed(parameter.grad, parameter.data, weight_decay, self._work(parameter, 1))

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


class FlatState(NamedTuple):
    """The state arrays of a packed group (:meth:`Optimizer._pack`): one flat array per entry
    (Adam's moments, SGD's momentum buffer), laid out like the group's flat ``data``, and a
    scratch array ``work`` of the same size where the update needs one (Adam's), else ``None``.
    ``states`` are the parameters' state dicts; ``layout`` has, per entry, a getter of it from a
    state dict and the parameters' views of its flat array, which the state dicts hold
    (:meth:`Optimizer._flat_state`)."""

    data: Any
    arrays: tuple
    work: Any
    states: tuple
    layout: tuple

    def hold(self, state: dict, params: list) -> bool:
        """Whether each parameter's state is still the dict laid out here, with each entry still its
        view (``load_state_dict`` or an assignment into the state makes new ones)."""
        if not all(map(is_, map(state.get, params), self.states)):
            return False
        for entry, views in self.layout:  # noqa: SIM110 - all() over a generator costs more per step
            if not all(map(is_, map(entry, self.states), views)):
                return False
        return True


def decayed(grad: Any, data: Any, weight_decay: float, out: Any = None) -> Any:
    """L2 weight decay: g + λ p (λ p first, then g added), into ``out`` if given; ``grad`` itself
    when λ = 0.  One parameter's arrays or a packed group's: the same numbers either way."""
    if not weight_decay:
        return grad
    out = backend.xp.multiply(data, weight_decay, out=out)
    out += grad
    return out


FOREACH_LIMIT = 1 << 16
"""Groups of at most this many numbers in all are updated on flat arrays (:meth:`Optimizer._pack`):
below it the cost of an update is the fixed cost of each array operation; above it, memory
traffic, which gathering the gradients would only add to."""


def split_like(flat: Any, params: list) -> list:
    """Views of ``flat`` shaped like each of ``params`` in turn, as if their arrays were laid end to end."""
    sizes = [p.data.size for p in params]
    return [
        flat[stop - size : stop].reshape(p.data.shape)
        for p, size, stop in zip(params, sizes, itertools.accumulate(sizes))
    ]


def same_kind(value: Any, like: Any) -> bool:
    """Whether a restored ``value`` may replace ``like`` (an option, a scheduler's attribute):
    numbers for numbers (not bools), bools for bools, strings, lists or tuples of the same length
    element by element, dicts with the same keys; ``None`` on either side fits anything (an entry
    not yet set, or optional)."""
    if value is None or like is None:
        return True
    if isinstance(like, bool) or isinstance(value, bool):
        return isinstance(like, bool) and isinstance(value, bool)
    if isinstance(like, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(like, (list, tuple)):
        return isinstance(value, (list, tuple)) and len(value) == len(like) and all(map(same_kind, value, like))
    if isinstance(like, dict):
        return isinstance(value, dict) and set(value) == set(like) and all(same_kind(value[k], like[k]) for k in like)
    return isinstance(value, type(like))


def _copy(value: Any) -> Any:
    """A state entry as ``state_dict`` gives it: arrays (0-d ones too) copied, numbers as they are."""
    return value.copy() if isinstance(value, backend.xp.ndarray) else value


def _restore(name: str, value: Any, parameter: Any) -> Any:
    """A saved state entry as the optimizer keeps it: arrays (of any shape, 0-d included) copied in
    the parameter's dtype and checked against its shape; other entries, the counts (``step``), as
    Python numbers (``int`` for ``step``, even if saved as an array)."""
    if name == "step":
        return int(value.item() if hasattr(value, "item") else value)
    if isinstance(value, backend.xp.ndarray):
        array = backend.xp.array(value, dtype=parameter.dtype)
        if array.shape != parameter.shape:
            raise ValueError(
                f"optimizer state {name!r} has shape {tuple(array.shape)} but its parameter has shape "
                f"{tuple(parameter.shape)}; the state belongs to another model"
            )
        return array
    return value.item() if hasattr(value, "item") else value
