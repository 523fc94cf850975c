"""Measure a torchvision model and write its reference entry, tests/data/torchvision/MODEL.json.

Run where torchvision is installed (it is not in CI's install):

    python tools/torchvision_reference.py resnet18
    python tools/torchvision_reference.py inception_v3 --input 3x299x299 \
        --kwarg aux_logits=false --kwarg transform_input=false --kwarg init_weights=false
    python tools/torchvision_reference.py video.r3d_18 --input 3x16x112x112

A dotted name is a constructor in a sub-module of torchvision.models (video.r3d_18): the entry
is named after its last part (r3d_18.json, "model": "r3d_18") and records the dotted path as
"constructor"; entries of top-level constructors have no "constructor" field.

The entry holds what the tests compare a mirroring spec with: params, MACs (FlopCounterMode
FLOPs / 2: conv and linear multiply-accumulates, bias excluded), the output shape, every
state_dict key and shape, and the output shape of every leaf-module call in call order.
weights=None and eval mode; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "torchvision"


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        return float(text)


def _shape(value) -> list | None:
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return list(value[0].shape)
    return None


def constructor(path: str):
    """torchvision.models' constructor at a dotted path: resnet18, video.r3d_18."""
    found = torchvision.models
    for part in path.split("."):
        found = getattr(found, part)
    return found


def measure(path: str, spec: str, shape: list[int], kwargs: dict) -> dict:
    torch.manual_seed(0)
    model = constructor(path)(weights=None, **kwargs).eval()
    model_name = path.rpartition(".")[2]
    calls: list[list] = []

    def record(name):
        def hook(module, _inputs, output):
            out = _shape(output)
            if out is not None:
                calls.append([name, type(module).__name__, out])

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in model.named_modules()
        if name and not list(module.children())
    ]
    x = torch.randn(1, *shape)
    with torch.no_grad():
        output = model(x)
    for handle in handles:
        handle.remove()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    dotted = {"constructor": path} if path != model_name else {}
    return {
        "model": model_name,
        **dotted,
        "spec": spec,
        "kwargs": kwargs,
        "input": shape,
        "params": sum(p.numel() for p in model.parameters()),
        "macs": counter.get_total_flops() // 2,
        "output": list(output.shape),
        "state_dict": {key: list(value.shape) for key, value in model.state_dict().items()},
        "leaf_outputs": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="torchvision.models constructor, e.g. resnet18 or video.r3d_18")
    parser.add_argument("--spec", help="the shipped spec mirroring it (default: the model name)")
    parser.add_argument("--input", default="3x224x224", help="C x spatial sizes, e.g. 3x299x299")
    parser.add_argument("--kwarg", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    kwargs = {}
    for item in args.kwarg:
        name, _, value = item.partition("=")
        kwargs[name] = _value(value)
    shape = [int(size) for size in args.input.split("x")]
    model_name = args.model.rpartition(".")[2]
    entry = measure(args.model, args.spec or model_name, shape, kwargs)
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{model_name}.json"
    path.write_text(json.dumps(entry, separators=(",", ":")) + "\n")
    print(f"{path}: {entry['params']:,} params, {entry['macs']:,} MACs, output {entry['output']}")


if __name__ == "__main__":
    main()
