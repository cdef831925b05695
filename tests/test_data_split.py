"""chainrule.data.split: seeded splits (plain and stratified) and batches that cover every row once."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule.data import DataLoader, Table, batches, train_test_split


def test_split_is_reproducible_disjoint_and_sized():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=7)
    assert x_train.shape == (40, 2) and x_test.shape == (10, 2)
    np.testing.assert_array_equal(x_train[:, 0] // 2, y_train)  # rows stay paired
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(50))
    again = train_test_split(x, y, test_size=0.2, seed=7)
    np.testing.assert_array_equal(again[3], y_test)
    assert not np.array_equal(train_test_split(y, seed=8)[1], y_test)
    assert len(train_test_split(y, test_size=13, seed=0)[1]) == 13
    chainrule.manual_seed(3)
    first = train_test_split(y)[1]
    chainrule.manual_seed(3)
    np.testing.assert_array_equal(train_test_split(y)[1], first)  # seed=None uses the global generator


def test_stratified_split_keeps_class_shares():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    train, test = train_test_split(labels, test_size=0.25, seed=0, stratify=labels)
    # largest remainder: 0.25 · (60, 30, 10) = (15, 7.5, 2.5) → 15 + 7 + 2 = 24; the 25th goes to the
    # first class with the largest remainder (class 1)
    assert np.bincount(test).tolist() == [15, 8, 2]
    assert np.bincount(train).tolist() == [45, 22, 8]
    labels = np.array(["a"] * 7 + ["b"] * 3)
    _, test = train_test_split(labels, test_size=0.3, seed=1, stratify=labels)
    assert sorted(test.tolist()) == ["a", "a", "b"]


def test_split_tables_and_bad_arguments():
    table = Table({"a": np.arange(10.0), "b": np.arange(10.0) * 2})
    train, test = train_test_split(table, test_size=0.3, seed=0)
    assert isinstance(train, Table) and (train.n_rows, test.n_rows) == (7, 3)
    np.testing.assert_array_equal(test["b"], 2 * test["a"])
    with pytest.raises(ValueError, match=r"different lengths \(10 and 3\)"):
        train_test_split(np.arange(10), np.arange(3))
    with pytest.raises(ValueError, match=r"strictly between 0 and 1"):
        train_test_split(np.arange(10), test_size=1.5)
    with pytest.raises(ValueError, match=r"leaves 0 of 10 rows for testing"):
        train_test_split(np.arange(10), test_size=0.01)


@pytest.mark.parametrize(("n", "size", "drop_last"), [(10, 3, False), (10, 3, True), (9, 3, False), (5, 8, False)])
def test_batches_cover_every_index_once(n, size, drop_last):
    for shuffle in (False, True):
        parts = list(batches(n, size, shuffle=shuffle, drop_last=drop_last, generator=0))
        covered = np.concatenate(parts) if parts else np.array([], dtype=int)
        expected = n - n % size if drop_last else n
        assert len(covered) == expected and len(set(covered.tolist())) == expected
        assert all(len(p) == size for p in parts[:-1])
        if not drop_last:
            assert sorted(covered.tolist()) == list(range(n))
        if not shuffle:
            assert covered.tolist() == list(range(expected))


def test_batches_shuffle_is_seeded():
    a = np.concatenate(list(batches(20, 4, shuffle=True, generator=5)))
    b = np.concatenate(list(batches(20, 4, shuffle=True, generator=5)))
    np.testing.assert_array_equal(a, b)
    assert a.tolist() != list(range(20))
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer, got 0"):
        next(batches(5, 0))


def test_data_loader_slices_whole_batches():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader(x, y, batch_size=4)
    assert len(loader) == 3 and len(DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    steps = list(loader)
    assert [len(b[1]) for b in steps] == [4, 4, 2]
    assert np.shares_memory(steps[0][0], x)  # unshuffled batches are views
    shuffled = DataLoader(x, y, batch_size=3, shuffle=True, generator=0)
    epoch1 = np.concatenate([b[1] for b in shuffled])
    epoch2 = np.concatenate([b[1] for b in shuffled])
    assert sorted(epoch1.tolist()) == list(range(10)) and sorted(epoch2.tolist()) == list(range(10))
    assert epoch1.tolist() != epoch2.tolist()  # a new order every epoch
    for xb, yb in shuffled:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
    with pytest.raises(ValueError, match=r"different lengths \[10, 3\]"):
        DataLoader(x, np.arange(3))
