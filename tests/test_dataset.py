"""``chainrule.data.Dataset``, ``TensorDataset``, ``default_collate`` and ``DataLoader(dataset, …)``
against ``torch.utils.data`` 2.13.0: the same batches, structures and dtypes; PyTorch's training
loop over a loader gives PyTorch's weights."""

from __future__ import annotations

import numpy
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import DataLoader, Dataset, TensorDataset, default_collate

torch = pytest.importorskip("torch")
from torch.utils import data as torch_data  # noqa: E402

X = numpy.arange(42.0).reshape(7, 3, 2)
Y = numpy.array([0, 2, 1, 1, 0, 2, 2])


def arrays(batch):
    return [numpy.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.data) for t in batch]


def test_tensor_dataset_items_and_length():
    ours, theirs = TensorDataset(X, Y), torch_data.TensorDataset(torch.tensor(X), torch.tensor(Y))
    assert len(ours) == len(theirs) == 7 and len(ours.tensors) == 2
    for i in (0, 3, -1):
        for mine, reference in zip(ours[i], theirs[i], strict=True):
            numpy.testing.assert_array_equal(mine.numpy(), reference.numpy())
    assert ours.tensors[1].dtype == chainrule.int64 and ours.tensors[0].dtype == chainrule.float64
    with pytest.raises(ValueError, match="the same number of rows, got shapes"):
        TensorDataset(X, Y[:3])


@pytest.mark.parametrize(("batch_size", "drop_last"), [(1, False), (3, False), (3, True), (7, False), (10, False)])
def test_batches_in_order_equal_torch(batch_size, drop_last):
    ours = DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
    theirs = torch_data.DataLoader(
        torch_data.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs) and ours.batch_size == theirs.batch_size and len(ours.dataset) == 7
    pairs = list(zip(ours, theirs, strict=True))
    assert pairs
    for mine, reference in pairs:
        assert isinstance(mine, list) and isinstance(reference, list)
        for a, b in zip(arrays(mine), arrays(reference), strict=True):
            assert a.dtype == b.dtype
            numpy.testing.assert_array_equal(a, b)


def test_batches_are_copies():
    dataset = TensorDataset(X.copy())
    (batch,) = next(iter(DataLoader(dataset, batch_size=2)))
    batch += 100.0
    assert dataset.tensors[0].data[0, 0, 0] == 0.0


def test_shuffled_epochs_cover_every_sample_in_new_orders():
    loader = DataLoader(TensorDataset(numpy.arange(50)), 8, True, generator=0)
    epochs = [numpy.concatenate([batch[0].numpy() for batch in loader]) for _ in range(3)]
    assert all(sorted(epoch) == list(range(50)) for epoch in epochs)
    assert not numpy.array_equal(epochs[0], epochs[1])
    again = DataLoader(TensorDataset(numpy.arange(50)), 8, True, generator=0)
    assert numpy.array_equal(numpy.concatenate([b[0].numpy() for b in again]), epochs[0])
    assert loader.shuffle and loader.batch_size == 8


class Samples(Dataset):
    """Samples of every kind default_collate takes, written for both libraries."""

    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 5

    def __getitem__(self, i):
        tensor = self.lib.tensor([float(i), 2.0 * i])
        return {"x": tensor, "weight": 0.5 * i, "count": i, "name": f"s{i}"}, (
            numpy.full(2, i, dtype=numpy.int32),
            [i, True],
        )


class TorchSamples(torch_data.Dataset):
    __len__, __getitem__ = Samples.__len__, Samples.__getitem__
    lib = torch


def flatten(batch):
    if isinstance(batch, dict):
        return {key: flatten(value) for key, value in batch.items()}
    if isinstance(batch, list) and batch and not isinstance(batch[0], str):
        return [flatten(value) for value in batch]
    if isinstance(batch, (torch.Tensor, chainrule.Tensor)):
        array = arrays([batch])[0]
        return (array.dtype.str, array.tolist())
    return batch


def test_default_collate_equals_torch():
    ours = list(DataLoader(Samples(chainrule), batch_size=3))
    theirs = list(torch_data.DataLoader(TorchSamples(), batch_size=3))
    assert [flatten(b) for b in ours] == [flatten(b) for b in theirs]
    samples = [Samples(chainrule)[i] for i in range(2)]
    assert flatten(default_collate(samples)) == flatten(
        torch_data.default_collate([TorchSamples()[i] for i in range(2)])
    )


def test_collate_fn_and_errors():
    loader = DataLoader(Samples(chainrule), batch_size=2, collate_fn=len)
    assert list(loader) == [2, 2, 1]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(TensorDataset(X), batch_size=0)
    with pytest.raises(TypeError, match="collate_fn is for a dataset"):
        DataLoader(X, Y, collate_fn=len)
    with pytest.raises(NotImplementedError, match="must define __len__"):
        DataLoader(Dataset())
    with pytest.raises(TypeError, match="a sample holds a object"):
        default_collate([object()])


def test_the_array_form_is_unchanged():
    loader = DataLoader(X, Y, batch_size=4)
    assert loader.dataset is None and len(loader) == 2
    first = next(iter(loader))
    assert isinstance(first, tuple) and isinstance(first[0], numpy.ndarray) and numpy.shares_memory(first[0], X)


def test_pytorch_training_loop_over_a_loader_gives_pytorch_weights():
    """The quickstart's loop: for X, y in dataloader: pred = model(X); loss_fn(pred, y) …"""
    rng = numpy.random.default_rng(0)
    images, labels = rng.standard_normal((30, 4, 3)), rng.integers(0, 3, 30)
    chainrule.manual_seed(0)
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).double()
    theirs.load_state_dict({name: torch.tensor(array) for name, array in ours.state_dict().items()})
    torch_dataset = torch_data.TensorDataset(torch.tensor(images), torch.tensor(labels))
    setups = [
        (ours, nn, optim, DataLoader(TensorDataset(images, labels), batch_size=8)),
        (theirs, torch.nn, torch.optim, torch_data.DataLoader(torch_dataset, batch_size=8)),
    ]
    for model, nn_module, optim_module, loader in setups:
        loss_fn, optimizer = nn_module.CrossEntropyLoss(), optim_module.SGD(model.parameters(), lr=0.1)
        size = len(loader.dataset)
        model.train()
        for batch, (inputs, targets) in enumerate(loader):
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            assert (batch + 1) * len(inputs) <= size + 8
    for (name, mine), reference in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        numpy.testing.assert_allclose(mine, reference.numpy(), rtol=1e-12, err_msg=name)
