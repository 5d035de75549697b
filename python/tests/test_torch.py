"""torch modules and tensors: from_torch keeps the module names as layer names; tensors go in
without a copy and come back as tensors; export_model writes the trained weights back."""

import numpy as np
import pytest

import mpq

torch = pytest.importorskip("torch")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = torch.nn.Conv2d(1, 8, 3)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.relu1 = torch.nn.ReLU()
        self.pool = torch.nn.MaxPool2d(2)
        self.fc1 = torch.nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.fc1(torch.flatten(self.pool(self.relu1(self.bn1(self.conv1(x)))), 1))


CONFIG = [{"quant_types": ["input", "weight"], "quant_bits": 8, "op_names": ["conv1"]},
          {"quant_types": ["output"], "quant_bits": 8, "op_names": ["relu1"]}]


def test_from_torch_matches_torch_and_names_layers(test_arrays, tmp_path):
    net = Net().train()
    x = torch.from_numpy(test_arrays[0][:16])
    model = mpq.from_torch(net, x[:1], path=tmp_path / "net.onnx")
    assert net.training  # the module's mode is given back
    assert model.input_shape() == [-1, 1, 28, 28]
    engine = mpq.ModelSpeedup(model, (16, 1, 28, 28))
    out, _ = engine.inference(x)
    assert isinstance(out, torch.Tensor) and out.shape == (16, 10)
    with torch.no_grad():
        np.testing.assert_allclose(out.numpy(), net.eval()(x).numpy(), rtol=1e-4, atol=1e-4)
    modules = {r["module_path"] for r in engine.manifest()}
    assert {"conv1", "fc1"} <= modules


def test_torch_module_straight_into_speedup_and_qat(train_arrays, test_arrays, tmp_path):
    net = Net()
    x = torch.from_numpy(test_arrays[0][:16])
    engine = mpq.ModelSpeedup(net, (8, 1, 28, 28))
    with torch.no_grad():
        expected = net.eval()(x).numpy()
    np.testing.assert_allclose(engine.inference(x)[0].numpy(), expected, rtol=1e-4, atol=1e-4)

    # NNI's habit: a torch optimizer over the module's parameters (its settings are used).
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.5)
    q = mpq.QAT_Quantizer(net, CONFIG, optimizer, dummy_input=torch.randn(1, 1, 28, 28))
    q.compress()
    q.fit(torch.from_numpy(train_arrays[0]), torch.from_numpy(train_arrays[1]))
    before = net.conv1.weight.detach().clone()
    config = q.export_model(tmp_path / "qat.onnx", tmp_path / "qat.json")
    assert set(config) == {"conv1", "relu1"}
    # export_model put the trained float weights back into the module (NNI does the same).
    assert not torch.equal(before, net.conv1.weight)
    trained = mpq.load(tmp_path / "qat.onnx")
    with torch.no_grad():
        np.testing.assert_allclose(net.eval()(x).numpy(), mpq.Trainer(trained).predict(x.numpy()),
                                   rtol=1e-4, atol=1e-4)
    engine = mpq.ModelSpeedup(net, (8, 1, 28, 28), config=config)
    rows = [r for r in engine.manifest() if r["module_path"] == "conv1"]
    assert rows and rows[0]["executed"] == "int8"


def test_tensor_inputs_are_checked_and_viewed(test_arrays):
    engine = mpq.ModelSpeedup(mpq.Model.zoo("mnist_naive"), (4, 1, 28, 28))
    t = torch.from_numpy(test_arrays[0][:4])
    assert mpq._mpq._shares_memory(t.numpy())
    with pytest.raises(ValueError, match=r"got float64 of shape \[4,1,28,28\]"):
        engine.inference(t.double())
    with pytest.raises(ValueError, match=r"expected shape \[N,1,28,28\], got \[4,28,28\]"):
        engine.inference(t[:, 0])
    out, _ = engine.inference(t.permute(0, 1, 3, 2))  # a strided tensor is copied, not refused
    assert out.shape == (4, 10)


def test_module_without_example_input_is_refused():
    with pytest.raises(ValueError, match="dummy_input"):
        mpq.QAT_Quantizer(Net(), CONFIG, mpq.SGD(lr=0.01))
