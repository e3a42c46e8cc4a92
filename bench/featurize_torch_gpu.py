#!/usr/bin/env python3
"""PyTorch peer for the GPU featurization benchmark (compute only): the same
networks as dlp's zoo with their classifiers removed (global-average-pooled
features), random weights, eval mode, channels_last, input already on the GPU.
Precision fp32 (TF32 off), fp16 and bf16 through autocast. Prints one line per
configuration in dlp's format:
  peer=torch model=ResNet50 precision=fp16 batch=256 images_per_s=...
Usage: featurize_torch_gpu.py [--models ResNet50,InceptionV3,...] [--batches 1,32,256]
       [--precisions fp32,fp16,bf16] [--seconds 2] [--compile]"""
import argparse
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
        import timm
        m = timm.create_model("legacy_xception", pretrained=False, num_classes=0)
        return m, 299
    raise ValueError(name)


def time_config(model, size, batch, precision, seconds, device):
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=torch.channels_last)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
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
        return rates[len(rates) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="ResNet50,InceptionV3,Xception,VGG16,VGG19")
    ap.add_argument("--batches", default="1,32,256")
    ap.add_argument("--precisions", default="fp32,fp16,bf16")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda"
    for name in args.models.split(","):
        try:
            model, size = build(name)
        except Exception as error:  # a model this torch/timm lacks
            print("peer=torch model=%s skipped=%r" % (name, str(error)), flush=True)
            continue
        model = model.eval().to(device).to(memory_format=torch.channels_last)
        runner = torch.compile(model) if args.compile else model
        for precision in args.precisions.split(","):
            for batch in [int(b) for b in args.batches.split(",")]:
                try:
                    rate = time_config(runner, size, batch, precision, args.seconds, device)
                    print("peer=torch%s model=%s precision=%s batch=%d images_per_s=%.1f" % (
                        "-compile" if args.compile else "", name, precision, batch, rate), flush=True)
                except Exception as error:
                    print("peer=torch model=%s precision=%s batch=%d failed=%r" % (name, precision, batch, str(error)),
                          flush=True)
        del model, runner
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
