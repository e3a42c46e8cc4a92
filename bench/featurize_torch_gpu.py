#!/usr/bin/env python3
"""PyTorch peer for the GPU featurization benchmark (compute only): the same
networks as dlp's zoo with their classifiers removed (global-average-pooled
features), random weights, eval mode, channels_last, input already on the GPU.
Precision fp32 (TF32 off), fp16 and bf16 through autocast. Prints one line per
configuration in dlp's format:
  peer=torch model=ResNet50 precision=fp16 batch=256 images_per_s=...
--compile also measures torch.compile(model, mode=--compile-mode) (lines
peer=torch-compile ...), per model in a child process killed after
--compile-seconds (compiling and every compiled configuration together), so a
slow or failing compile prints a failed= line instead of overrunning;
--compile-only skips the eager runs.
Usage: featurize_torch_gpu.py [--models ResNet50,InceptionV3,...] [--batches 1,32,256]
       [--precisions fp32,fp16,bf16] [--seconds 2] [--compile] [--compile-only]
       [--compile-mode default|max-autotune-no-cudagraphs|...] [--compile-seconds 90]"""
import argparse
import subprocess
import sys
import time

import torch
import torchvision


def build(name):
    if name == "ResNet50":
        m = torchvision.models.resnet50(weights=None)
        m.fc = torch.nn.Identity()
        return m, 224
    if name == "InceptionV3":
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, transform_input=False)
        m.fc = torch.nn.Identity()
        return m, 299
    if name in ("VGG16", "VGG19"):
        m = getattr(torchvision.models, name.lower())(weights=None)
        m.classifier = torch.nn.Identity()  # features -> avgpool(7x7) -> flatten; close to Keras' block5_pool
        return m, 224
    if name == "Xception":
        try:  # timm's definition when the machine has it, else the same architecture written here
            import timm
            return timm.create_model("legacy_xception", pretrained=False, num_classes=0), 299
        except ImportError:
            return keras_xception(), 299
    raise ValueError(name)


def keras_xception():
    """Keras' Xception without its top (Chollet 2017; keras/applications/xception.py), global-average-pooled:
    the same layers, channels and strides, for PyTorch's speed on it when timm is absent (the device machines
    cannot install it). 'same' poolings pad 1, which gives Keras' output sizes (147 -> 74 -> 37 -> 19 -> 10)."""
    nn = torch.nn

    def conv_bn(cin, cout, kernel, stride):
        return [nn.Conv2d(cin, cout, kernel, stride, bias=False), nn.BatchNorm2d(cout)]

    def separable_bn(cin, cout):
        return [nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout)]

    class Block(nn.Module):
        # relu? -> sep -> bn -> relu -> sep -> bn [-> relu -> sep -> bn] [-> maxpool], plus the shortcut
        def __init__(self, channels, first_relu, downsample):
            super().__init__()
            layers = []
            for i in range(len(channels) - 1):
                if i > 0 or first_relu:
                    layers.append(nn.ReLU())
                layers += separable_bn(channels[i], channels[i + 1])
            if downsample:
                layers.append(nn.MaxPool2d(3, 2, 1))
                self.shortcut = nn.Sequential(*conv_bn(channels[0], channels[-1], 1, 2))
            else:
                self.shortcut = nn.Identity()
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x) + self.shortcut(x)

    layers = conv_bn(3, 32, 3, 2) + [nn.ReLU()] + conv_bn(32, 64, 3, 1) + [nn.ReLU()]
    layers += [Block([64, 128, 128], False, True), Block([128, 256, 256], True, True),
               Block([256, 728, 728], True, True)]
    layers += [Block([728, 728, 728, 728], True, False) for _ in range(8)]
    layers += [Block([728, 728, 1024], True, True)]
    layers += separable_bn(1024, 1536) + [nn.ReLU()] + separable_bn(1536, 2048) + [nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def time_config(model, size, batch, precision, seconds, device):
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=torch.channels_last)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
        for _ in range(3):
            model(x)
        torch.cuda.synchronize()
        # Runs in chunks until `seconds` pass; the median chunk rate is reported.
        rates = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(rates) < 3:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            reps = max(1, 64 // batch)
            start.record()
            for _ in range(reps):
                model(x)
            end.record()
            end.synchronize()
            rates.append(reps * batch / (start.elapsed_time(end) / 1000.0))
        rates.sort()
        # Peak of the caching allocator over this configuration: weights, input, activations, cuDNN workspace.
        return rates[len(rates) // 2], torch.cuda.max_memory_allocated() / 2**20


def run_configs(model, name, size, args, peer):
    for precision in args.precisions.split(","):
        for batch in [int(b) for b in args.batches.split(",")]:
            try:
                rate, peak_mib = time_config(model, size, batch, precision, args.seconds, "cuda")
                print("peer=%s model=%s precision=%s batch=%d images_per_s=%.1f max_allocated_mib=%.0f" % (
                    peer, name, precision, batch, rate, peak_mib), flush=True)
            except Exception as error:
                print("peer=%s model=%s precision=%s batch=%d failed=%r" % (peer, name, precision, batch, str(error)),
                      flush=True)


def compiled_child(name, args):
    """Runs one model's compiled configurations in a child process with a time limit."""
    command = [sys.executable, __file__, "--models", name, "--batches", args.batches, "--precisions",
               args.precisions, "--seconds", str(args.seconds), "--compile-mode", args.compile_mode,
               "--compiled-child"]
    try:
        done = subprocess.run(command, timeout=args.compile_seconds)
        if done.returncode != 0:
            print("peer=torch-compile model=%s failed='child exited with %d'" % (name, done.returncode), flush=True)
    except subprocess.TimeoutExpired:
        print("peer=torch-compile model=%s failed='time limit %.0f s (mode %s; compile + runs), lines above are "
              "what finished'" % (name, args.compile_seconds, args.compile_mode), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="ResNet50,InceptionV3,Xception,VGG16,VGG19")
    ap.add_argument("--batches", default="1,32,256")
    ap.add_argument("--precisions", default="fp32,fp16,bf16")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--compile-mode", default="default")
    ap.add_argument("--compile-seconds", type=float, default=90.0)
    ap.add_argument("--compiled-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    eager = not args.compile_only and not args.compiled_child
    for name in args.models.split(","):
        if eager or args.compiled_child:
            try:
                model, size = build(name)
            except Exception as error:  # a model this torch/timm lacks
                print("peer=torch model=%s skipped=%r" % (name, str(error)), flush=True)
                continue
            model = model.eval().to("cuda").to(memory_format=torch.channels_last)
            if args.compiled_child:
                try:
                    model = torch.compile(model, mode=None if args.compile_mode == "default" else args.compile_mode)
                except Exception as error:
                    print("peer=torch-compile model=%s failed=%r" % (name, str(error)), flush=True)
                    return
            run_configs(model, name, size, args, "torch-compile" if args.compiled_child else "torch")
            del model
            torch.cuda.empty_cache()
        if (args.compile or args.compile_only) and not args.compiled_child:
            compiled_child(name, args)


if __name__ == "__main__":
    main()
