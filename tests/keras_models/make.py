"""Writes the Keras test models of tests/test_keras_import.py, with Keras's own outputs beside them.

Run once, by hand, where Keras 3 and tf_keras (Keras 2) are installed (``pip install tf_keras``);
the files are committed, so the tests need neither. Each model is built with Keras 3, and the same
architecture again with Keras 2 given the same weights, so that the two outputs differ only where
the two Keras versions define a layer differently (``hard_sigmoid``). Every model is saved in every
format its Keras writes:

- Keras 3: ``keras3.keras``; ``keras3.h5`` (legacy whole-model HDF5); ``keras3.config.json`` with
  ``keras3.weights.h5``;
- Keras 2: ``keras2.h5``; ``keras2.json`` (``to_json()``) with ``keras2.weights.h5`` (``save_weights``);

and ``inputs.npz``, ``keras3_outputs.npz``, ``keras2_outputs.npz``. Weights are drawn (seeded), the
BatchNormalization means far from 0 and variances small, so that a misplaced epsilon or a swapped
mean shows.

    python tests/keras_models/make.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

HERE = Path(__file__).parent


def convnet(layers):
    """Convolutions with SAME padding's odd pixel, BatchNormalization, hard_sigmoid, the poolings."""
    inputs = layers.Input((7, 7, 3), name="image")
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("hard_sigmoid", name="hard_sigmoid")(x)
    x = layers.DepthwiseConv2D(2, padding="same", depth_multiplier=2, activation="relu", name="depthwise")(x)
    x = layers.SeparableConv2D(5, 2, padding="valid", name="separable")(x)
    x = layers.MaxPooling2D(2, strides=1, padding="same", name="max_pool")(x)
    x = layers.AveragePooling2D(2, padding="same", name="average_pool")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(3, activation="softmax", name="classes")(x)
    return inputs, outputs


def merges(layers, models):
    """Merge layers, a nested Sequential, a shared layer, Dense on rank 3, the activation layers."""
    a = layers.Input((4, 6), name="a")
    b = layers.Input((4, 6), name="b")
    shared = layers.Dense(6, name="shared")
    x, y = shared(a), shared(b)
    x = layers.LeakyReLU(name="leaky")(x)
    y = layers.ReLU(max_value=0.5, name="relu_max")(y)
    s = layers.Add(name="add")([x, y])
    m = layers.Multiply(name="multiply")([x, y])
    d = layers.Subtract(name="subtract")([s, m])
    c = layers.Concatenate(name="concat")([d, layers.Maximum(name="maximum")([x, y])])
    c = layers.ELU(name="elu")(c)
    c = layers.Reshape((4, 3, 4), name="reshape")(c)
    c = layers.Permute((2, 1, 3), name="permute")(c)
    c = layers.ZeroPadding2D(((1, 0), (0, 2)), name="zero_pad")(c)
    c = layers.Cropping2D(((0, 1), (1, 0)), name="crop")(c)
    block = models.Sequential([layers.Dense(5, activation="tanh", name="inner_dense"),
                               layers.PReLU(name="prelu")], name="block")
    c = block(c)
    c = layers.GlobalAveragePooling2D(name="global_average")(c)
    outputs = layers.Average(name="average")([c, layers.Dense(5, name="side")(layers.Flatten(name="flat")(a))])
    return [a, b], outputs


def extras(layers, models):
    """Embedding of integer tokens, the other normalizations, upsampling, preprocessing."""
    tokens = layers.Input((5,), dtype="int32", name="tokens")
    image = layers.Input((4, 4, 6), name="image")
    t = layers.Embedding(11, 4, name="embedding")(tokens)
    t = layers.LayerNormalization(name="layer_norm")(t)
    t = layers.Flatten(name="flat_tokens")(t)
    x = layers.Normalization(mean=0.5, variance=2.0, name="normalize")(image)
    x = layers.GroupNormalization(groups=3, name="group_norm")(x)
    x = layers.UpSampling2D(2, name="upsample")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample_bilinear")(x)
    x = layers.Conv2D(2, 3, strides=3, name="reduce")(x)
    x = layers.UnitNormalization(name="unit_norm")(x)
    x = layers.Flatten(name="flat_image")(x)
    return [tokens, image], layers.Concatenate(name="features")([t, x])


MODELS = {"convnet": convnet, "merges": merges, "extras": extras}


def _weights(model, rng):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _weights(layer, rng)
            continue
        values = []
        for variable in layer.weights:
            name, shape = variable.name.split("/")[-1].split(":")[0], tuple(variable.shape)
            if "variance" in name:  # small, so that epsilon weighs (1e-3 against 1e-5: a few percent)
                values.append(rng.uniform(0.01, 0.1, shape))
            elif "mean" in name:
                values.append(rng.normal(0.5, 1.0, shape))
            elif name in ("gamma", "alpha"):
                values.append(rng.uniform(0.2, 1.5, shape))
            else:
                values.append(rng.normal(0, 0.5, shape))
        if values:
            layer.set_weights([v.astype(np.float32) for v in values])


def _build(function, keras_module):
    layers, models = keras_module.layers, keras_module.models
    inputs, outputs = function(layers) if function is convnet else function(layers, models)
    return keras_module.Model(inputs, outputs)


def main() -> None:
    import keras
    import tf_keras

    for name, function in MODELS.items():
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        model3 = _build(function, keras)
        _weights(model3, rng)
        model2 = _build(function, tf_keras)
        model2.set_weights(model3.get_weights())
        shapes = [tuple(i.shape[1:]) for i in model3.inputs]
        inputs = {i.name: (rng.integers(0, 11, (2, *shape)).astype(np.int32) if "int" in str(i.dtype)
                           else rng.normal(size=(2, *shape)).astype(np.float32)) for i, shape in zip(model3.inputs, shapes)}
        arrays = list(inputs.values())
        np.savez(folder / "inputs.npz", **inputs)
        np.savez(folder / "keras3_outputs.npz", output=model3.predict(arrays, verbose=0))
        np.savez(folder / "keras2_outputs.npz", output=model2.predict(arrays, verbose=0))
        model3.save(folder / "keras3.keras")
        model3.save(folder / "keras3.h5")
        (folder / "keras3.config.json").write_text(json.dumps(json.loads(model3.to_json()), indent=1))
        model3.save_weights(folder / "keras3.weights.h5")
        model2.save(folder / "keras2.h5")
        (folder / "keras2.json").write_text(json.dumps(json.loads(model2.to_json()), indent=1))
        model2.save_weights(folder / "keras2.weights.h5")
        print(f"{name}: {model3.count_params()} weights")


if __name__ == "__main__":
    main()
