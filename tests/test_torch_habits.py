"""PyTorch habits on tensors and modules, against PyTorch 2.13.0: argmax/argmin, flatten and
``nn.Flatten``, item/tolist/numpy, bool/int/float/index, ``to`` with a device, ``type``, ``clone``."""

from __future__ import annotations

import numpy
import pytest

import chainrule
from chainrule import nn

torch = pytest.importorskip("torch")

VALUES = numpy.array([[[3.0, 1.0, 3.0], [0.0, 5.0, 5.0]], [[2.0, 2.0, -1.0], [7.0, 0.0, 7.0]]])
"""(2, 2, 3), with ties along every axis (both libraries take the first index)."""


@pytest.mark.parametrize("method", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, -3])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin_match_torch(method, dim, keepdim):
    expected = getattr(torch.tensor(VALUES), method)(dim=dim, keepdim=keepdim)
    got = getattr(chainrule.tensor(VALUES), method)(dim=dim, keepdim=keepdim)
    assert got.shape == tuple(expected.shape) and got.dtype == chainrule.int64
    assert got.tolist() == expected.tolist()
    if dim is not None:  # positional dim, as in pred.argmax(1), and the module-level function
        assert (
            getattr(chainrule.tensor(VALUES), method)(dim).tolist()
            == getattr(torch.tensor(VALUES), method)(dim).tolist()
        )
        assert getattr(chainrule, method)(chainrule.tensor(VALUES), dim, keepdim).tolist() == expected.tolist()


def test_argmax_of_0d_nan_and_errors():
    assert chainrule.tensor(3.0).argmax().tolist() == torch.tensor(3.0).argmax().tolist() == 0
    with_nan = [1.0, float("nan"), 5.0, float("nan")]
    assert chainrule.tensor(with_nan).argmax().item() == torch.tensor(with_nan).argmax().item() == 1
    assert chainrule.tensor(with_nan).argmin().item() == torch.tensor(with_nan).argmin().item() == 1
    with pytest.raises(IndexError, match="axis 3 is out of range"):
        chainrule.tensor(VALUES).argmax(3)
    with pytest.raises(ValueError, match="empty"):
        chainrule.zeros(0).argmax()


def test_argmax_is_outside_the_graph():
    x = chainrule.tensor(VALUES, requires_grad=True)
    index = x.argmax(1)
    assert not index.requires_grad and index.grad_fn is None


@pytest.mark.parametrize(("start", "end"), [(0, -1), (1, -1), (1, 2), (0, 0), (2, 3), (-2, -1), (3, 3)])
def test_flatten_matches_torch(start, end):
    x = numpy.arange(120.0).reshape(2, 3, 4, 5)
    expected = torch.tensor(x).flatten(start, end)
    got = chainrule.tensor(x).flatten(start, end)
    assert got.shape == tuple(expected.shape)
    numpy.testing.assert_array_equal(got.numpy(), expected.numpy())
    module = nn.Flatten(start, end)
    assert module(chainrule.tensor(x)).shape == tuple(torch.nn.Flatten(start, end)(torch.tensor(x)).shape)


def test_flatten_edge_cases():
    assert chainrule.tensor(3.0).flatten().shape == tuple(torch.tensor(3.0).flatten().shape) == (1,)
    assert chainrule.zeros(0, 2, 3).flatten(1).shape == tuple(torch.zeros(0, 2, 3).flatten(1).shape) == (0, 6)
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        chainrule.zeros(2, 3, 4).flatten(2, 1)


def test_nn_flatten_in_a_model_trains_as_torch():
    """The quickstart's model: Flatten, then Linear layers; one SGD step equal to PyTorch's."""
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    reference = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).double()
    reference.load_state_dict({name: torch.tensor(array) for name, array in model.state_dict().items()})
    assert repr(model[0]) == repr(reference[0]) == "Flatten(start_dim=1, end_dim=-1)"
    rng = numpy.random.default_rng(0)
    x, y = rng.standard_normal((8, 3, 4)), rng.integers(0, 3, 8)
    for net, lib in ((model, chainrule), (reference, torch)):
        loss = (nn if lib is chainrule else torch.nn).CrossEntropyLoss()(net(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        with lib.no_grad():
            for p in net.parameters():
                p -= 0.1 * (p.grad if lib is torch else lib.tensor(p.grad))
    for (name, got), want in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        numpy.testing.assert_allclose(got, want.numpy(), rtol=1e-12, err_msg=name)


def test_item_tolist_numpy():
    t, r = chainrule.tensor([[1.5, 2.0]], dtype="float64"), torch.tensor([[1.5, 2.0]], dtype=torch.float64)
    assert t.tolist() == r.tolist() and chainrule.tensor(2.5).tolist() == torch.tensor(2.5).tolist() == 2.5
    assert t[0, 1].item() == r[0, 1].item() == 2.0 and isinstance(t[0, 1].item(), float)
    assert chainrule.tensor(numpy.array([7])).item() == 7 and isinstance(chainrule.tensor(numpy.array([7])).item(), int)
    with pytest.raises(RuntimeError, match="item\\(\\): the tensor has 2 elements"):
        t.item()
    array = t.numpy()
    array[0, 0] = 9.0  # shares memory, as torch's numpy()
    assert t.tolist() == [[9.0, 2.0]]


def test_python_number_conversions():
    for values in ([0.0], [2.7], [-1.0]):
        assert bool(chainrule.tensor(values)) == bool(torch.tensor(values))
        assert int(chainrule.tensor(values)) == int(torch.tensor(values))
        assert float(chainrule.tensor(values)) == float(torch.tensor(values))
    with pytest.raises(RuntimeError, match="truth value of a tensor with 2 elements is ambiguous"):
        bool(chainrule.tensor([1.0, 2.0]))
    labels = ["cat", "dog", "bird"]
    assert labels[chainrule.tensor([0.1, 0.9, 0.0]).argmax()] == labels[torch.tensor([0.1, 0.9, 0.0]).argmax()]
    with pytest.raises(TypeError, match="only an integer tensor of one element"):
        labels[chainrule.tensor(1.0)]


def test_to_device_and_dtype():
    t = chainrule.tensor([1.0, 2.0])
    assert t.to("cpu") is t and t.to(device="cpu") is t and t.to("cpu:0") is t and t.device == "cpu"
    assert t.to("cpu", chainrule.float64).dtype == chainrule.float64
    assert t.to(device="cpu", dtype="float64").dtype == chainrule.float64
    assert t.to(chainrule.tensor([1.0], dtype="float64")).dtype == chainrule.float64
    assert t.type(chainrule.double).dtype == chainrule.float64 and t.type() == "float32"
    with pytest.raises(ValueError, match="device 'cuda' is not available: chainrule computes on 'cpu' only"):
        t.to("cuda")


def test_dtype_names():
    assert chainrule.float == chainrule.float32 and chainrule.double == chainrule.float64
    assert chainrule.long == chainrule.int64 == numpy.dtype("int64")
    correct = (chainrule.tensor([2, 0, 1]) == chainrule.tensor([2, 1, 1])).type(chainrule.float).sum().item()
    assert correct == (torch.tensor([2, 0, 1]) == torch.tensor([2, 1, 1])).type(torch.float).sum().item() == 2


def test_clone_gradient_matches_torch():
    values = numpy.array([0.5, -1.0, 2.0])
    grads = []
    for lib in (chainrule, torch):
        x = lib.tensor(values, requires_grad=True, dtype=lib.float64)
        copy = x.clone()
        (copy * copy * x).sum().backward()
        assert copy.tolist() == x.tolist()
        grads.append(numpy.asarray(x.grad))
    numpy.testing.assert_allclose(grads[0], grads[1], rtol=1e-15)


# ------------------------------------------------------------------ model.summary()

HOUSE_SUMMARY = """\
Model: "Sequential"
_______________________________________________________________
 Layer (type)                  Output Shape            Param #
===============================================================
 0 (Linear)                    (None, 2)                     6
_______________________________________________________________
 1 (Sigmoid)                   (None, 2)                     0
_______________________________________________________________
 2 (Linear)                    (None, 1)                     3
===============================================================
Total params: 9 (36 B)
Trainable params: 7 (28 B)
Non-trainable params: 2 (8 B)"""


def test_summary_of_the_house_price_network():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    model[2].weight.requires_grad_(False)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == [HOUSE_SUMMARY]


def test_summary_of_the_keras_guide_model():
    """The Keras "Sequential model" guide's Dense(2), Dense(3), Dense(4) on 4 inputs: 10 + 9 + 16 = 35."""
    model = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "Total params: 35 (140 B)" in text and "Non-trainable params: 0 (0 B)" in text
    assert [line.split()[2:4] for line in text.splitlines() if "(Linear)" in line] == [
        ["(None,", "2)"], ["(None,", "3)"], ["(None,", "4)"]
    ]  # fmt: skip


class QuickstartNetwork(nn.Module):
    """PyTorch's "Learn the basics" model."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )
        self.norm = nn.BatchNorm1d(10)

    def forward(self, x):
        return self.norm(self.linear_relu_stack(self.flatten(x)))


def test_summary_of_a_module_subclass_needs_the_input_shape():
    model = QuickstartNetwork()
    reference = torch.nn.Sequential(
        torch.nn.Linear(28 * 28, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10), torch.nn.BatchNorm1d(10),
    )  # fmt: skip
    total = sum(p.numel() for p in reference.parameters())
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Total params: {total:,} (2.55 MB)" in lines[0] and "summary(input_shape=" in lines[0]
    assert lines[0].count(" ?  ") == 3
    model.summary((28, 28), print_fn=lines.append)
    shapes = [line.split("  ")[0:3] for line in lines[1].splitlines() if line.startswith(" flatten")]
    assert "(None, 784)" in lines[1] and "(None, 10)" in lines[1] and shapes
    assert "Buffers (running statistics, not trained): 21" in lines[1]  # mean, variance, count
    assert model.training and model.norm.training and "forward" not in model.flatten.__dict__
    with pytest.raises(ValueError, match=r"summary: the forward pass on one sample of shape \(3,\) failed"):
        model.summary((3,))


def test_summary_leaves_no_trace():
    from chainrule.nn import container

    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5), nn.Linear(2, 1))
    model.train()
    model.summary(print_fn=lambda text: None)
    assert model.training and container.FUSE_LAYERS
    assert all("forward" not in layer.__dict__ for layer in model)
    assert all(p.grad is None for p in model.parameters())
