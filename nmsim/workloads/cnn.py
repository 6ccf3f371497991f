"""CNN inference traces as im2col GEMMs: AlexNet, VGG-16, ResNet-50 and MobileNet-v1 (batch 1, 224×224).

The CNNs sparse CNN accelerators such as [S2TA] are evaluated on, built from each network's own paper
(layer shapes, strides, paddings), in the torchvision form where one exists:

- AlexNet: Krizhevsky et al., NeurIPS 2012, single-tower form (64-192-384-256-256 channels, torchvision);
- VGG-16: Simonyan & Zisserman, ICLR 2015, configuration D;
- ResNet-50: He et al., CVPR 2016, bottleneck blocks [3, 4, 6, 3]; the stride-2 convolution of a stage is
  its first block's 3×3 (torchvision's "v1.5"; v1 puts it on the 1×1);
- MobileNet-v1: Howard et al., arXiv:1704.04861, width 1.0, Table 1.

Every standard convolution is a ``conv2d`` layer (m = output pixels, k = in_channels·kernel², n =
out_channels); a depthwise 3×3 convolution is ``repeat = channels`` GEMMs of m = output pixels, k = 9,
n = 1, not sparsifiable (one filter per channel has no K to prune along); fully connected layers are
``linear``. Pooling, batch norm and activations carry no MACs and are left out. Weights are dense; pick
a pattern with ``nmsim.workloads.scope.apply_nm``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nmsim.schemas.trace import ConvShape, Layer, Trace

IMAGE = 224


@dataclass(frozen=True)
class Conv:
    """One convolution: channels, square kernel, stride, padding, square input size; ``depthwise``."""

    name: str
    cin: int
    cout: int
    kernel: int
    stride: int
    padding: int
    size: int
    depthwise: bool = False

    @property
    def out_size(self) -> int:
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1


def _layer(c: Conv, prev: str | None, batch: int, dtype: str | None) -> Layer:
    inputs = [prev] if prev else []
    if c.depthwise:
        return Layer(name=c.name, op="linear", role="conv", m=batch * c.out_size**2, k=c.kernel * c.kernel, n=1,
                     repeat=c.cin, sparsifiable=False, dtype=dtype, inputs=inputs)  # type: ignore[arg-type]  # fmt: skip
    shape = ConvShape(batch=batch, in_channels=c.cin, out_channels=c.cout, kernel_h=c.kernel, kernel_w=c.kernel,
                      input_h=c.size, input_w=c.size, stride=c.stride, padding=c.padding)  # fmt: skip
    return Layer(name=c.name, op="conv2d", role="conv", conv=shape, dtype=dtype, inputs=inputs)  # type: ignore[arg-type]


def _trace(name: str, convs: list[Conv], fcs: list[tuple[str, int, int]], batch: int, dtype: str | None,
           description: str) -> Trace:  # fmt: skip
    layers: list[Layer] = []
    prev: str | None = None
    for c in convs:
        layers.append(_layer(c, prev, batch, dtype))
        prev = c.name
    for fc_name, k, n in fcs:
        layers.append(Layer(name=fc_name, op="linear", role="head" if fc_name == fcs[-1][0] else "ff",
                            m=batch, k=k, n=n, dtype=dtype, inputs=[prev] if prev else []))  # type: ignore[arg-type]  # fmt: skip
        prev = fc_name
    return Trace(
        name=name, description=description, source=f"nmsim.workloads.cnn.{name}_trace", layers=layers
    )


def alexnet_convs() -> list[Conv]:
    """AlexNet's five convolutions (single-tower channel counts); max-pools between them shrink the input."""
    return [
        Conv("conv1", 3, 64, 11, 4, 2, IMAGE),  # → 55, pool → 27
        Conv("conv2", 64, 192, 5, 1, 2, 27),  # → 27, pool → 13
        Conv("conv3", 192, 384, 3, 1, 1, 13),
        Conv("conv4", 384, 256, 3, 1, 1, 13),
        Conv("conv5", 256, 256, 3, 1, 1, 13),  # pool → 6
    ]


def alexnet_trace(batch: int = 1, dtype: str | None = None) -> Trace:
    """AlexNet at 224×224: 5 convolutions and 3 fully connected layers."""
    fcs = [("fc6", 256 * 6 * 6, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 1000)]
    return _trace("alexnet", alexnet_convs(), fcs, batch, dtype,
                  "AlexNet (Krizhevsky et al. 2012, single-tower channels), 224x224, batch 1; dense weights.")  # fmt: skip


def vgg16_convs() -> list[Conv]:
    """VGG-16 (configuration D): 13 3×3 convolutions, a 2×2 max-pool after each of the five stages."""
    stages = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    convs, cin, size = [], 3, IMAGE
    for s, (cout, count) in enumerate(stages, start=1):
        for i in range(1, count + 1):
            convs.append(Conv(f"conv{s}_{i}", cin, cout, 3, 1, 1, size))
            cin = cout
        size //= 2
    return convs


def vgg16_trace(batch: int = 1, dtype: str | None = None) -> Trace:
    """VGG-16 at 224×224: 13 convolutions and 3 fully connected layers."""
    fcs = [("fc6", 512 * 7 * 7, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 1000)]
    return _trace("vgg16", vgg16_convs(), fcs, batch, dtype,
                  "VGG-16 (Simonyan & Zisserman 2015, configuration D), 224x224, batch 1; dense weights.")  # fmt: skip


def resnet50_convs() -> list[Conv]:
    """ResNet-50: the 7×7 stem, then bottlenecks (1×1, 3×3, 1×1 with 4× expansion) in stages [3, 4, 6, 3]."""
    convs = [Conv("conv1", 3, 64, 7, 2, 3, IMAGE)]  # → 112, max-pool → 56
    cin, size = 64, 56
    for s, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=2):
        for b in range(1, blocks + 1):
            stride = 2 if b == 1 and s > 2 else 1
            p = f"layer{s - 1}.{b}"
            out = size // stride
            convs += [
                Conv(f"{p}.conv1", cin, width, 1, 1, 0, size),
                Conv(f"{p}.conv2", width, width, 3, stride, 1, size),
                Conv(f"{p}.conv3", width, 4 * width, 1, 1, 0, out),
            ]
            if b == 1:
                convs.append(Conv(f"{p}.downsample", cin, 4 * width, 1, stride, 0, size))
            cin, size = 4 * width, out
    return convs


def resnet50_trace(batch: int = 1, dtype: str | None = None) -> Trace:
    """ResNet-50 at 224×224: 53 convolutions (49 in the main path, 4 projections) and the classifier."""
    return _trace("resnet50", resnet50_convs(), [("fc", 2048, 1000)], batch, dtype,
                  "ResNet-50 (He et al. 2016; stride on the 3x3, torchvision), 224x224, batch 1; dense weights.")  # fmt: skip


def mobilenet_v1_convs() -> list[Conv]:
    """MobileNet-v1 (width 1.0): a 3×3 stem, then 13 depthwise-separable blocks (Howard et al., Table 1)."""
    convs = [Conv("conv0", 3, 32, 3, 2, 1, IMAGE)]  # → 112
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
    cin, size = 32, 112
    for i, (cout, stride) in enumerate(plan, start=1):
        convs.append(Conv(f"block{i}.dw", cin, cin, 3, stride, 1, size, depthwise=True))
        size = (size + 2 - 3) // stride + 1
        convs.append(Conv(f"block{i}.pw", cin, cout, 1, 1, 0, size))
        cin = cout
    return convs


def mobilenet_v1_trace(batch: int = 1, dtype: str | None = None) -> Trace:
    """MobileNet-v1 at 224×224: 27 convolutions (13 depthwise) and the classifier."""
    return _trace("mobilenet_v1", mobilenet_v1_convs(), [("fc", 1024, 1000)], batch, dtype,
                  "MobileNet-v1 (Howard et al. 2017, width 1.0), 224x224, batch 1; dense weights.")  # fmt: skip


CNN_TRACES = {
    "alexnet": alexnet_trace,
    "vgg16": vgg16_trace,
    "resnet50": resnet50_trace,
    "mobilenet_v1": mobilenet_v1_trace,
}
