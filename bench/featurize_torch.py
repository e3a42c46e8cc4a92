#!/usr/bin/env python3
"""featurize_torch.py: images/s of a torchvision featurizer (classifier removed,
random weights, eval mode, inference_mode, fp32) on the CPU, the PyTorch peer of
bench/featurize_cpu.c. Debian's python3-torch + python3-torchvision
(scripts/install-bench-deps.sh). One line per (layout, batch):

  torch model=InceptionV3 layout=nchw batch=16 threads=2 runs=5 median_ms=... images_per_s=...

and last the process's peak resident memory:

  memory tool=torch-nchw model=InceptionV3 batches=1,16 peak_rss_mib=...

layout nhwc is torch.channels_last (model and input).
"""
import argparse
import resource
import statistics
import time

import torch
import torchvision

SIDES = {"InceptionV3": 299, "ResNet50": 224}


def build(name):
    if name == "InceptionV3":
        # aux_logits off and transform_input False: the plain Keras-style base;
        # init_weights False skips scipy's truncated-normal init (values do not
        # matter for speed).
        model = torchvision.models.inception_v3(weights=None, aux_logits=False, transform_input=False,
                                                init_weights=False)
    elif name == "ResNet50":
        model = torchvision.models.resnet50(weights=None)
    else:
        raise SystemExit(f"featurize_torch: unknown model {name}")
    # Global average pool stays; the ImageNet classifier goes (dropout is a no-op in eval).
    model.fc = torch.nn.Identity()
    return model.eval()


def bench(model, name, layout, batch, threads, warmup, runs):
    side = SIDES[name]
    generator = torch.Generator().manual_seed(12345)
    x = torch.rand(batch, 3, side, side, generator=generator) * 2 - 1
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for r in range(warmup + runs):
            start = time.perf_counter()
            features = model(x)
            elapsed = (time.perf_counter() - start) * 1e3
            if r >= warmup:
                times.append(elapsed)
    assert features.shape == (batch, 2048), features.shape
    median = statistics.median(times)
    print(f"torch model={name} layout={layout} batch={batch} threads={threads} runs={runs} "
          f"median_ms={median:.2f} best_ms={min(times):.2f} images_per_s={batch * 1e3 / median:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="InceptionV3", choices=sorted(SIDES))
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layouts", default="nchw,nhwc")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    for layout in args.layouts.split(","):
        model = build(args.model)
        if layout == "nhwc":
            model = model.to(memory_format=torch.channels_last)
        for batch in (int(b) for b in args.batch.split(",")):
            bench(model, args.model, layout, batch, args.threads, args.warmup, args.runs)
    # The process's peak resident set (Linux: KiB): the interpreter, torch, the model, the largest batch.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory tool=torch-{args.layouts.replace(',', '+')} model={args.model} batches={args.batch} "
          f"peak_rss_mib={peak:.1f}", flush=True)


if __name__ == "__main__":
    main()
