"""Shared fixtures: small slices of Fashion-MNIST (Debian's dataset-fashion-mnist) and the zoo's
mnist_naive. The tests import the mpq package found on PYTHONPATH (the build's python/ folder
when ctest runs them)."""

import os

import numpy as np
import pytest

import mpq

INPUT = [-1, 1, 28, 28]


def _need_dataset():
    if not os.path.exists(os.path.join(mpq._mpq.fashion_mnist_dir(), "t10k-images-idx3-ubyte.gz")):
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


@pytest.fixture(scope="session")
def train_arrays():
    _need_dataset()
    return mpq.load_dataset("fashion-mnist:train", INPUT, limit=1024)


@pytest.fixture(scope="session")
def test_arrays():
    _need_dataset()
    return mpq.load_dataset("fashion-mnist:test", INPUT, limit=256)


@pytest.fixture(scope="session")
def trained_path(tmp_path_factory, train_arrays):
    """mnist_naive trained one epoch on 1024 images, as an ONNX file."""
    model = mpq.Model.zoo("mnist_naive")
    mpq.Trainer(model, mpq.SGD(lr=0.01, momentum=0.5)).fit(*train_arrays, epochs=1)
    path = str(tmp_path_factory.mktemp("models") / "trained.onnx")
    model.save(path)
    return path


def accuracy(output, labels):
    return float(np.mean(np.argmax(np.asarray(output), axis=1) == labels))
