"""e2e_torch_gpu.py: the end-to-end peer of `dlp featurize --device cuda`:
JPEG files -> features with a PyTorch DataLoader (PIL decode + resize +
ToTensor in worker processes, pinned memory) feeding a torchvision model with
its classifier removed, channels_last, on the GPU. Untrained weights: the
throughput does not depend on them.

usage: python3 e2e_torch_gpu.py DIR --model inception_v3|resnet50 --workers 1,4,16 [--precision fp32|fp16|bf16]
       [--batch N] [--repeat K]   (--repeat: the files K times over, as dlp's steady-state list has them)
prints: peer=torch-dataloader model=M precision=P workers=W images=N images_per_s=R
"""
import argparse
import os
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--model", default="inception_v3")
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(args.folder) for name in names
                   if name.endswith(".jpg")) * args.repeat
    side = 299 if args.model == "inception_v3" else 224
    transform = torchvision.transforms.Compose(
        [torchvision.transforms.Resize((side, side)), torchvision.transforms.ToTensor()])

    class Files(Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return transform(Image.open(files[i]).convert("RGB"))

    if args.model == "inception_v3":
        model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    else:
        model = torchvision.models.resnet50(weights=None)
    model.fc = torch.nn.Identity()
    model = model.eval().cuda().to(memory_format=torch.channels_last)
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    for workers in [int(w) for w in args.workers.split(",")]:
        loader = DataLoader(Files(), batch_size=args.batch, num_workers=workers, pin_memory=True)
        start = time.perf_counter()
        count = 0
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float16, enabled=dtype is not None):
            for batch in loader:
                model(batch.cuda(non_blocking=True).to(memory_format=torch.channels_last))
                count += len(batch)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        print("peer=torch-dataloader model=%s precision=%s workers=%d images=%d images_per_s=%.1f"
              % (args.model, args.precision, workers, count, count / seconds), flush=True)


if __name__ == "__main__":
    main()
