"""Versions of tensor memory: what in-place arithmetic changed, and the checks ``backward`` makes.

In-place arithmetic (``c += 1``, ``c *= w``) writes into a tensor's memory, as in PyTorch: every
tensor and array sharing that memory (views, ``detach()``, ``numpy()``) sees the new values.  A
graph node may have kept some of the old values for its gradient (``Mul`` keeps its factors,
``Exp`` its output), so PyTorch's safety rule applies: the change itself is allowed, and
``backward`` raises, naming the node, the value and the fix, when it reaches a node that needs a
value changed after the node was made.

The bookkeeping (PyTorch's version counters, kept per buffer instead of per tensor):

* :data:`clock` counts in-place changes; each recorded graph node notes it when it is made
  (``Function.clock``), so "changed after the node was made" is "changed at a later clock".
* Each change notes, under the NumPy buffer that owns the memory it wrote, the byte range written
  and the clock (:func:`record_change`).  Every view of a buffer shares these versions, as views
  share PyTorch's counter; a range is compared by its bounds, so a change counts for every array
  whose bytes lie within them.  The notes go when the buffer is freed.
* An in-place change recorded in the graph (``c += w`` where ``w`` requires grad) makes ``c`` the
  output of a new node, whose first parent is ``c``'s *old version*: a tensor holding the old
  values and the old node (``Function.replaces``).  Nodes made before the change still name ``c``
  among their parents.

Before a backward pass, while changed memory or such a node is alive (:data:`active`),
:func:`revise` walks the graph once: it points the nodes made before a change at the old versions
of their parents, checks the values saved by nodes older than a change, and raises where a tensor
was used after its memory was changed through another tensor sharing it (a view), a change its
graph does not know about.  A training loop that changes nothing in place pays one integer stored
per node and one test per ``backward``.  Changes through ``tensor.data`` (an optimizer's step
writes there) are not tracked, as changes through PyTorch's ``.data`` are not.
"""

from __future__ import annotations

import weakref
from typing import Any

from chainrule import backend

clock = 0
"""How many in-place changes have been made (to any tensor); graph nodes note it when made."""

active = False
"""Whether memory changed in place, or a node made by an in-place change, is alive: only then
does ``backward`` look at the graph (:func:`revise`) before its pass."""


class _Buffer:
    """The changes made to one buffer: the latest clock (and description) per byte range written,
    and the changes recorded in the graph (``(clock, span, target tensor, description)``)."""

    __slots__ = ("latest", "recorded", "ref")

    def __init__(self, ref: weakref.ref) -> None:
        self.ref = ref
        self.latest: dict[tuple[int, int], tuple[int, str]] = {}
        self.recorded: list[tuple[int, tuple[int, int], weakref.ref, str]] = []


_buffers: dict[int, _Buffer] = {}
"""id(buffer) → its changes, for every buffer changed in place and still alive."""

_recorded: dict[int, _Buffer] = {}
"""The entries of :data:`_buffers` with changes recorded in the graph."""

_rebases: dict[int, None] = {}
"""id(node) of every live node made by an in-place change recorded in the graph."""


def _update() -> None:
    global active
    active = bool(_buffers) or bool(_rebases)


def _owner(array: Any) -> Any:
    """The array that owns the memory of ``array`` (itself if it is not a view)."""
    while isinstance(array.base, backend.ndarray):
        array = array.base
    return array


def _span(array: Any) -> tuple[int, int]:
    """The byte range [low, high) that ``array``'s elements lie in."""
    return backend.xp.lib.array_utils.byte_bounds(array)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _entry(array: Any) -> _Buffer | None:
    owner = _owner(array)
    entry = _buffers.get(id(owner))
    return entry if entry is not None and entry.ref() is owner else None


def advance() -> int:
    """Count one in-place change and return its clock."""
    global clock
    clock += 1
    return clock


def record_change(array: Any, description: str, target: Any = None) -> int:
    """Note that ``description`` (e.g. "`+=` on a float32 tensor of shape (3,)") wrote into the
    memory of ``array``, and return the clock of the change.

    ``target`` is the tensor that became the output of a graph node by the change (a change
    recorded in the graph); None for a change the graph does not record (under ``no_grad``, or
    on tensors that need no gradient).
    """
    when = advance()
    owner = _owner(array)
    key = id(owner)
    entry = _entry(array)
    if entry is None:

        def forget(_: Any, key: int = key) -> None:
            _buffers.pop(key, None)
            _recorded.pop(key, None)
            _update()

        entry = _buffers[key] = _Buffer(weakref.ref(owner, forget))
    span = _span(array)
    entry.latest[span] = (when, description)
    if target is not None:
        entry.recorded.append((when, span, weakref.ref(target), description))
        _recorded[key] = entry
    _update()
    return when


def record_rebase(function: Any) -> None:
    """Note a live node made by an in-place change recorded in the graph (until it is freed)."""
    key = id(function)

    def forget() -> None:
        _rebases.pop(key, None)
        _update()

    _rebases[key] = None
    weakref.finalize(function, forget)
    _update()


# ---------------------------------------------------------------------------------------------- checks


def _kept_arrays(value: Any, name: str) -> Any:
    """(attribute name, array) for every array a node keeps, looking into lists, tuples, dicts and
    the nodes it keeps (``MLP`` keeps its activations' nodes)."""
    if isinstance(value, backend.ndarray):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _kept_arrays(item, name)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _kept_arrays(item, name)
    elif getattr(type(value), "saved_for", None) is not None:  # a node kept by a node
        for item in vars(value).values():
            yield from _kept_arrays(item, name)


_NOT_SAVED = frozenset({"parents", "clock", "replaces"})


def _describe(array: Any, parents: tuple, output: Any) -> str:
    """Which of a node's tensors ``array`` belongs to, in words (when its memory says so)."""
    for index, parent in enumerate(parents):
        if isinstance(parent.data, backend.ndarray) and backend.xp.may_share_memory(array, parent.data):
            return f" (its input {index})"
    if isinstance(output, backend.ndarray) and backend.xp.may_share_memory(array, output):
        return " (its output)"
    return ""


def check_saved(function: Any, output: Any, used: tuple) -> None:
    """Raise if ``function`` keeps a value for its gradient that an in-place change overwrote
    after the node was made (``output``: the data of the tensor it made; ``used``: the tensors
    the node named as parents, for the message).

    A value that only some gradients read (``Function.saved_for``) counts only when one of those
    parents requires a gradient (``d * 2`` needs ``d`` only if 2 needed a gradient).
    """
    made, parents = function.clock, function.parents
    readers: dict[str, list[int]] = {}
    for name, parent in function.saved_for:
        readers.setdefault(name, []).append(parent)
    for name, value in vars(function).items():
        if name in _NOT_SAVED:
            continue
        if name in readers and not any(parents[i].requires_grad for i in readers[name]):
            continue
        for _, array in _kept_arrays(value, name):
            entry = _entry(array)
            if entry is None:
                continue
            span = _span(array)
            for written, (when, description) in entry.latest.items():
                if when > made and _overlap(span, written):
                    node, what = f"{type(function).__name__}Backward", _describe(array, used, output)
                    raise RuntimeError(
                        f"backward: {node} needs the value it saved as `{name}`{what}, "
                        f"but {description} changed it in place after {node} was made. Compute the new value "
                        "out of place (c = c + 1 instead of c += 1), or change a copy (c = c.clone() before "
                        "the in-place operation)"
                    )


def _born(tensor: Any) -> int:
    """The clock at which ``tensor``'s graph (its node) was made; 0 for leaves."""
    return 0 if tensor._ctx is None else tensor._ctx.clock


def _check_current(parent: Any, function: Any) -> None:
    """Raise if ``function`` used ``parent`` after an in-place change recorded in the graph wrote
    into ``parent``'s memory through another tensor (a view of it, or one it is a view of)."""
    data = parent.data
    if not isinstance(data, backend.ndarray):
        return
    entry = _entry(data)
    if entry is None or not entry.recorded:
        return
    span, born, used = _span(data), _born(parent), function.clock
    for when, written, target, description in entry.recorded:
        if born < when <= used and target() is not parent and _overlap(span, written):
            node = f"{type(function).__name__}Backward"
            raise RuntimeError(
                f"backward: {node} used a tensor of shape {tuple(data.shape)} whose memory {description} had "
                "changed in place through another tensor sharing it (a view of it, or the tensor it is a view "
                "of); its graph does not include that change. Apply the in-place operation to the tensor that is "
                "used afterwards, or compute it out of place (v = v + w instead of v += w)"
            )


def _version_at(tensor: Any, made: int) -> Any:
    """The tensor that held ``tensor``'s role when a node was made at clock ``made``: following
    in-place changes back (``Function.replaces``) past those made later."""
    while tensor._ctx is not None and tensor._ctx.clock > made and tensor._ctx.replaces is not None:
        tensor = tensor._ctx.replaces
    return tensor


def revise(root: Any) -> None:
    """Before a backward pass from ``root``, for every node of its graph made before an in-place
    change: point it at the version each parent had when the node was made (``Function.replaces``)
    and raise if a value it saved has been changed since (:func:`check_saved`); and raise where a
    node used a tensor whose memory an in-place change had changed through another tensor
    (:func:`_check_current`)."""
    seen = {id(root)}
    stack = [root]
    rebases, recorded = bool(_rebases), bool(_recorded)
    while stack:
        node = stack.pop()
        function = node._ctx
        if function.clock < clock:
            used = function.parents
            if rebases:
                parents = tuple(_version_at(parent, function.clock) for parent in used)
                if any(new is not old for new, old in zip(parents, used)):
                    function.parents = parents
            check_saved(function, node.data, used)
        for parent in function.parents:
            if recorded:
                _check_current(parent, function)
            if parent._ctx is not None and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
