"""The operations of the graph, one :class:`~chainrule.autograd.Function` each.

Each works on backend arrays only (never on tensors): ``forward`` computes the value,
``backward`` the chain-rule factor.  Broadcast gradients are summed back to each operand's shape
by the backward engine, not here.

* :mod:`.arithmetic` — ``+ − × ÷ **``, negation, matrix product, ``where``
* :mod:`.elementwise` — ``exp, log, sqrt, abs, clip`` and the activations
* :mod:`.reduce` — ``sum, mean, max, min``
* :mod:`.shape` — ``reshape, transpose, getitem, concatenate, stack``
* :mod:`.layers` — fused layer ops: ``linear``, ``softmax``, ``log_softmax``
* :mod:`.losses` — fused losses: mean squared error, cross-entropy, BCE with logits
* :mod:`.mlp` — a whole chain of linear layers and activations as one node (``Sequential``'s fast path)
"""
