"""Arrays in and out: zero-copy where contiguous float32, a copy for strided data, and a
ValueError naming both shapes for data that does not fit."""

import numpy as np
import pytest

import mpq
from conftest import INPUT


@pytest.fixture(scope="module")
def engine():
    e = mpq.ModelSpeedup(mpq.Model.zoo("mnist_naive"), (16, 1, 28, 28), batchsize=16)
    e.compress()
    return e


def test_contiguous_float32_is_not_copied():
    a = np.ones((2, 1, 28, 28), np.float32)
    assert mpq._mpq._shares_memory(a)
    assert not mpq._mpq._shares_memory(np.asfortranarray(a[:, :, :, ::2]))


def test_strided_input_gives_the_same_output_as_contiguous(engine, test_arrays):
    x = test_arrays[0][:20]
    strided = np.repeat(x, 2, axis=0)[::2]  # a view with twice the batch stride
    assert not strided.flags["C_CONTIGUOUS"]
    a, _ = engine.inference(x)
    b, _ = engine.inference(strided)
    np.testing.assert_array_equal(a, b)


def test_output_is_numpy_with_every_row(engine, test_arrays):
    x = test_arrays[0][:37]  # more than two batches of 16, with a partial one
    out, seconds = engine.inference(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (37, 10)
    assert seconds > 0
    # Row by row the same as in one call: nothing padded or dropped.
    first, _ = engine.inference(x[:1])
    np.testing.assert_allclose(out[:1], first, rtol=1e-5, atol=1e-5)


def test_wrong_dtype_names_both_shapes(engine):
    with pytest.raises(ValueError, match=r"expected float32 data of shape \[N,1,28,28\], "
                                         r"got float64 of shape \[3,1,28,28\]"):
        engine.inference(np.zeros((3, 1, 28, 28)))


def test_wrong_shape_names_both_shapes(engine):
    with pytest.raises(ValueError, match=r"expected shape \[N,1,28,28\], got \[3,28,28\]"):
        engine.inference(np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"got \[3,1,28,27\]"):
        engine.inference(np.zeros((3, 1, 28, 27), np.float32))
    with pytest.raises(ValueError, match=r"got \[0,1,28,28\]"):
        engine.inference(np.zeros((0, 1, 28, 28), np.float32))


def test_labels_must_be_integers_one_per_sample(test_arrays):
    x, y = test_arrays
    trainer = mpq.Trainer(mpq.Model.zoo("mnist_naive"))
    with pytest.raises(ValueError, match=r"expected integer labels of shape \[8\], got float32"):
        trainer.train_step(x[:8], y[:8].astype(np.float32))
    with pytest.raises(ValueError, match=r"expected shape \[8\] .*got \[7\]"):
        trainer.train_step(x[:8], y[:7])
    with pytest.raises(ValueError,
                       match=r"fit\(data\): expected shape \[N,1,28,28\], got \[8,784\]"):
        trainer.fit(x[:8].reshape(8, 784), y[:8])


def test_load_dataset_adapts_to_the_model_input():
    x, y = mpq.load_dataset("fashion-mnist:test", [-1, 3, 32, 32], limit=4)
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.shape == (4,)
    # padded by 2 pixels (black before normalization) and the channel replicated
    np.testing.assert_array_equal(x[:, 0], x[:, 2])
    assert np.all(x[:, :, 0, :] == x[0, 0, 0, 0])
    x1, _ = mpq.load_dataset("fashion-mnist:test", INPUT, limit=4)
    np.testing.assert_array_equal(x[:, 0, 2:30, 2:30], x1[:, 0])
