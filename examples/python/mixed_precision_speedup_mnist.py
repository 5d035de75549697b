#!/usr/bin/python3
"""NNI's mixed_precision_speedup_mnist.py (QAT_Quantizer, then ModelSpeedupTensorRT) through
mpq's Python API: the same calls, with `import mpq` in place of NNI's imports and
mpq.ModelSpeedup in place of ModelSpeedupTensorRT. It makes the table of `mpq demo` for
mnist_naive (NNI's NaiveModel) on Fashion-MNIST: the float model, QAT with NNI's mixed config and
with every layer in 8 bits, and the post-training rows, each as an engine with its accuracy on
the test set and its latency at batch 128.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/mixed_precision_speedup_mnist.py
    ... --quick        # mpq demo --quick's sizes: 6000 training images, 2000 test images

With the same sizes and seed, the accuracies are those `mpq demo` prints (the same library calls
in the same order); latencies are measured alike (median of timed runs after warm-up, engines
interleaved).
"""

import argparse
import json
import os
import statistics

import numpy as np

import mpq

# NNI's QAT example configure_list, verbatim.
configure_list = [{
    'quant_types': ['input', 'weight'],
    'quant_bits': {'input': 8, 'weight': 8},
    'op_names': ['conv1']
}, {
    'quant_types': ['output'],
    'quant_bits': {'output': 8},
    'op_names': ['relu1']
}, {
    'quant_types': ['input', 'weight'],
    'quant_bits': {'input': 8, 'weight': 8},
    'op_names': ['conv2']
}, {
    'quant_types': ['output'],
    'quant_bits': {'output': 8},
    'op_names': ['relu2']
}]

# The same pattern over every layer: all in 8 bits.
configure_list_int8 = [{
    'quant_types': ['input', 'weight'],
    'quant_bits': {'input': 8, 'weight': 8},
    'op_types': ['Conv2d', 'Linear']
}, {
    'quant_types': ['output'],
    'quant_bits': {'output': 8},
    'op_names': ['relu1', 'relu2', 'relu3']
}]

# NNI's post-training example: conv1 8, conv2 32, fc1 16, fc2 8 bits (weight and output).
configure_list_ptq_nni = [{
    'quant_types': ['weight', 'output'], 'quant_bits': 8, 'op_names': ['conv1', 'fc2']
}, {
    'quant_types': ['weight', 'output'], 'quant_bits': 16, 'op_names': ['fc1']
}]


def train(model, train_data, args):
    # NNI trains with torch.optim.SGD(lr=0.01, momentum=0.5), batch 64; so does mpq's trainer.
    trainer = mpq.Trainer(model, mpq.SGD(lr=0.01, momentum=0.5), batch_size=64, seed=args.seed)
    for stats in trainer.fit(train_data, epochs=1):
        print(f"float training: loss {stats.loss:.4f}, train accuracy {100 * stats.accuracy:.2f}%")


def test_trt(engine, test_images, test_labels):
    output, time_span = engine.inference(test_images)
    accuracy = float(np.mean(np.argmax(output, axis=1) == test_labels))
    print(f"  accuracy {100 * accuracy:.2f}%, inference elapsed_time (whole dataset): "
          f"{time_span:.4f} s")
    return accuracy


def quantization_aware_training(name, config, float_path, train_data, test, args):
    model = mpq.load(float_path)
    optimizer = mpq.SGD(lr=0.01, momentum=0.5)
    quantizer = mpq.QAT_Quantizer(model, config, optimizer, seed=args.seed)
    quantizer.compress()
    quantizer.fit(train_data, epochs=1)  # NNI: train(model, device, train_loader, optimizer)
    simulated = quantizer.evaluate(*test).accuracy
    model_path = os.path.join(args.out, f"{name}.onnx")
    calibration_path = os.path.join(args.out, f"{name}.calib.json")
    calibration_config = quantizer.export_model(model_path, calibration_path)

    input_shape = (args.batch, 1, 28, 28)
    engine = mpq.ModelSpeedup(model, input_shape, config=calibration_config,
                              batchsize=args.batch, backend=args.backend)
    engine.compress()
    print(f"{name}: QAT model accuracy {100 * simulated:.2f}%, engine:")
    return engine, test_trt(engine, *test)


def post_training(name, config, model, calibration_config, test, args):
    engine = mpq.ModelSpeedup(model, (args.batch, 1, 28, 28), config=calibration_config,
                              config_list=config, batchsize=args.batch, backend=args.backend)
    engine.compress()
    print(f"{name}: engine:")
    return engine, test_trt(engine, *test)


def latencies(engines, batch, args):
    """Median of `iters` timed runs per engine after `warmup`, engines interleaved."""
    times = {name: [] for name in engines}
    for it in range(args.warmup + args.iters):
        for name, engine in engines.items():
            seconds = engine.inference(batch)[1]
            if it >= args.warmup:
                times[name].append(1000.0 * seconds)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=-1, help="training images (default: all)")
    p.add_argument("--test-limit", type=int, default=-1, help="test images (default: all)")
    p.add_argument("--quick", action="store_true", help="6000 / 2000 images, 10 timed runs")
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--backend", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/python_example")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    if args.quick:
        args.limit = 6000 if args.limit < 0 else args.limit
        args.test_limit = 2000 if args.test_limit < 0 else args.test_limit
    args.iters = args.iters if args.iters is not None else (10 if args.quick else 50)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 5)
    os.makedirs(args.out, exist_ok=True)

    model = mpq.Model.zoo("mnist_naive", seed=args.seed)  # NNI's NaiveModel, seeded weights
    shape = model.input_shape()
    train_data = mpq.load_dataset("fashion-mnist:train", shape, limit=args.limit)
    test = mpq.load_dataset("fashion-mnist:test", shape, limit=args.test_limit)

    train(model, train_data, args)
    float_path = os.path.join(args.out, "model_fp32.onnx")
    model.save(float_path)

    engines, accuracy = {}, {}
    engines["fp32"] = mpq.ModelSpeedup(model, (args.batch, 1, 28, 28), batchsize=args.batch,
                                       backend=args.backend)
    engines["fp32"].compress()
    print("fp32: engine:")
    accuracy["fp32"] = test_trt(engines["fp32"], *test)
    for name, config in (("qat_mixed", configure_list), ("qat_int8", configure_list_int8)):
        engines[name], accuracy[name] = quantization_aware_training(name, config, float_path,
                                                                    train_data, test, args)
    ptq = mpq.calibrate(model, train_data, method="entropy", calib_images=1000, seed=args.seed,
                        threads=os.cpu_count(), path=os.path.join(args.out, "ptq.calib.json"))
    for name, config in (("ptq_mixed", configure_list), ("ptq_nni_mixed", configure_list_ptq_nni),
                         ("ptq_int8", None)):
        engines[name], accuracy[name] = post_training(name, config, model, ptq, test, args)

    idx = np.arange(args.batch) % test[0].shape[0]
    latency = latencies(engines, np.ascontiguousarray(test[0][idx]), args)
    rows = []
    print(f"\n{'row':<14} {'avg bits':>8} {'latency ms':>10} {'speedup':>8} {'accuracy':>9}")
    for name, engine in engines.items():
        row = {"id": name, "accuracy": accuracy[name], "latency_ms": latency[name],
               "speedup": latency["fp32"] / latency[name], "average_bits": engine.average_bits}
        rows.append(row)
        print(f"{name:<14} {row['average_bits']:>8.1f} {row['latency_ms']:>10.3f} "
              f"{row['speedup']:>7.2f}x {100 * row['accuracy']:>8.2f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
