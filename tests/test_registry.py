"""The activation and loss registry: declared once, read by every table that used to keep its own."""

from __future__ import annotations

import dataclasses

import pytest

from chainrule import nn
from chainrule.cli import explain
from chainrule.data import synthetic
from chainrule.diagnostics.notation import fill, raw
from chainrule.io import spec
from chainrule.nn import container, registry
from chainrule.training import TrainConfig, names

TRAIN_OPTIONS = {option.name: option for option in dataclasses.fields(TrainConfig)}

SYMBOLS = {"z": raw("z¹₁", "z^{1}_{1}"), "h": raw("h¹₁", "h^{1}_{1}"), "y": raw("y₁", "y_{1}"), "output": raw("h²")}
VALUES = {
    "z_value": "-0.5",
    "z_factor": "(-0.5)",
    "h_value": "0.25",
    "h_factor": "0.25",
    "y_value": "1",
    "y_factor": "1",
    "z_vs_0": "≤ 0",
    "k": "1",
    "c": "2",
    "negative_slope": "0.01",
    "alpha": "1",
    "beta": "1",
    "threshold": "20",
    "delta": "1",
}


def test_every_reader_takes_the_activations_from_the_registry():
    names = set(registry.ACTIVATIONS)
    assert {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky-relu",
        "gelu",
        "gelu-tanh",
        "silu",
        "softplus",
        "elu",
    } == names
    assert set(TRAIN_OPTIONS["activation"].metadata["choices"]) == names  # chainrule train --activation
    assert synthetic.ACTIVATIONS is registry.ACTIVATIONS  # make_teacher_student(activation=…)
    assert {entry.module for entry in registry.ACTIVATIONS.values()} == container.FUSABLE_ACTIVATIONS
    modules = registry.activation_modules()
    assert all(spec.LAYERS[m.__name__] == (m, m.arguments) for m in modules)  # checkpoint architectures
    assert nn.GELU in modules and all(getattr(nn, m.__name__) is m for m in modules)  # exported by chainrule.nn


def test_every_reader_takes_the_losses_from_the_registry():
    regression, classification = names.task_losses("regression"), names.task_losses("classification")
    assert regression[0] == "mse" and set(classification) == {"cross-entropy"}
    assert set(regression) == {"mse", "l1", "huber", "half-squared", "sse"}
    assert TRAIN_OPTIONS["loss"].metadata["choices"] == regression + classification  # chainrule train --loss
    assert set(explain.LOSSES) == set(registry.LOSSES)
    assert isinstance(explain.loss_by_name("HuberLoss"), nn.HuberLoss)
    assert registry.loss_entry("MSELoss") is registry.LOSSES["mse"] is registry.loss_entry(nn.MSELoss())
    assert registry.loss_entry(nn.Softmax()) is None
    with pytest.raises(ValueError, match="unknown loss 'hinge'; choose one of mse, cross-entropy"):
        registry.loss_entry("hinge")


def test_lookup_by_name_and_by_module():
    assert registry.activation_entry("GELU-tanh").options == {"approximate": "tanh"}
    assert registry.activation_entry(nn.GELU(approximate="tanh")).name == "gelu-tanh"
    assert registry.activation_entry(nn.GELU()).name == "gelu"
    assert registry.activation_entry(nn.Softplus(beta=3.0)).name == "softplus"
    assert repr(registry.ACTIVATIONS["elu"].make(alpha=0.5)) == "ELU(alpha=0.5)"

    class Scaled(nn.Tanh):
        """A subclass: explained as its base class."""

    assert registry.activation_entry(Scaled()).name == "tanh"
    with pytest.raises(ValueError, match="unknown activation 'mish'; choose one of identity, sigmoid"):
        registry.activation_entry("mish")
    with pytest.raises(ValueError, match="Softmax is not a declared element-wise activation"):
        registry.activation_entry(nn.Softmax())
    with pytest.raises(ValueError, match="declared twice"):
        registry.activation("relu", call=None, definition=None, derivative=None, numbers=None)(nn.ReLU)


def test_every_formula_fills_to_text_latex_and_html_without_placeholders():
    formulas = []
    for entry in registry.ACTIVATIONS.values():
        formulas += [entry.call, entry.definition, entry.derivative, entry.numbers]
    for entry in registry.LOSSES.values():
        formulas += [entry.formula, entry.derivative, entry.numbers, entry.term, entry.term_numbers, entry.term_scale]
    for formula in filter(None, formulas):
        math = fill(formula, SYMBOLS, VALUES)
        for spelling in (math.text, math.latex, math.html):
            assert not any(f"{{{name}}}" in spelling for name in [*SYMBOLS, *VALUES]), formula
        assert math.latex.isascii(), math.latex  # LaTeX commands, no Unicode maths
    sigmoid = fill(registry.ACTIVATIONS["sigmoid"].derivative, SYMBOLS, VALUES)
    assert sigmoid.text == "σ(z¹₁)(1 − σ(z¹₁)) = h¹₁(1 − h¹₁)"
    assert sigmoid.latex == r"\sigma(z^{1}_{1})(1 - \sigma(z^{1}_{1})) = h^{1}_{1}(1 - h^{1}_{1})"
    sup, sub = "<sup>1</sup>", "<sub>1</sub>"
    assert sigmoid.html == f"σ(z{sup}{sub})(1 − σ(z{sup}{sub})) = h{sup}{sub}(1 − h{sup}{sub})"


def test_the_losses_train_offers_fit_their_task():
    for name in names.task_losses("regression"):
        assert registry.LOSSES[name].task == "regression"
    for entry in registry.LOSSES.values():
        assert entry.mean_over in ("elements", "samples")
        assert isinstance(entry.make(), entry.module)
