#!/usr/bin/env python3
"""compute_table.py LOG...: issue 4's benchmark (a) and (c) as one markdown table, from the logs of one
bench/gpu_prebuilt.sh run (the compute_table_* steps, featurize_torch_compile*, gemm_rate, flop_ceiling).

Reads lines in the harness' formats:
  model=ResNet50 precision=fp16 batch=256 images_per_s=... search=timed fuse=on graphs=on ...   (featurize_gpu)
  peer=torch model=ResNet50 precision=fp16 batch=256 images_per_s=... max_allocated_mib=...     (featurize_torch_gpu.py)
  peer=torch-compile model=ResNet50 precision=fp16 batch=256 images_per_s=...
  gemm precision=bf16 n=8192 tflop_per_s=... ...                                               (gemm_rate_gpu)
  flops model=ResNet50 gflop_per_image=...                                                     (featurize_cpu --flops)
The FLOP ceiling of a model is its GFLOP per image over a measured matrix rate: images/s no network of those
FLOPs can pass on that GPU. dlp's row is the configuration the featurizer ships (--ship-fp32 and --ship-half:
search/fuse/graphs, as featurize_gpu prints them); other dlp lines (ablations) are left out. Prints, per model,
precision and batch: dlp, PyTorch eager, torch.compile, dlp / the best PyTorch figure, the bf16 ceiling (issue
4's) and dlp's share of the ceiling at its own precision (fp32 against the fp32 rate, no TF32). A configuration
missing on either side shows '-'; nothing is invented. Below it, where the lines carry them, device memory: dlp's
device_mib (free memory before its backend minus after the runs) beside PyTorch eager's max_allocated_mib (its caching
allocator's peak: weights, activations, workspace; not the CUDA context or library handles, so PyTorch reads low).
--ceilings LOG...: only the ceiling lines, every model x measured precision:
  ceiling model=ResNet50 precision=bf16 tflop_per_s=... gflop_per_image=... images_per_s=..."""
import argparse
import os
import re
import sys

MODELS = ["ResNet50", "InceptionV3", "Xception", "VGG16", "VGG19"]
PRECISIONS = ["fp32", "fp16", "bf16"]


def fields(line):
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))


def dlp_config(f):
    # featurize_gpu names graphs=on only when on; fuse and search always.
    return "search=%s fuse=%s graphs=%s" % (f.get("search"), f.get("fuse"), f.get("graphs", "off"))


def parse(paths, ship_fp32, ship_half):
    rates = {}  # (kind, model, precision, batch) -> images/s
    memory = {}  # (kind, model, precision, batch) -> MiB
    matrix = {}  # precision -> TFLOP/s
    flops = {}  # model -> GFLOP per image
    for path in paths:
        if not os.path.exists(path):  # a step that did not run (ONLY, budget)
            print("compute_table: %s: no such log, left out" % path, file=sys.stderr)
            continue
        with open(path, errors="replace") as handle:
            for line in handle:
                f = fields(line)
                if line.startswith("gemm ") and "tflop_per_s" in f:
                    matrix[f["precision"]] = float(f["tflop_per_s"])
                    continue
                if line.startswith("flops ") and "gflop_per_image" in f:
                    flops[f["model"]] = float(f["gflop_per_image"])
                    continue
                if "images_per_s" not in f or "model" not in f or "batch" not in f:
                    continue
                key = (f["model"], f.get("precision"), int(f["batch"]))
                if "peer" in f:
                    rates[(f["peer"],) + key] = float(f["images_per_s"])
                    if "max_allocated_mib" in f:
                        memory[(f["peer"],) + key] = float(f["max_allocated_mib"])
                elif dlp_config(f) == (ship_fp32 if f.get("precision") == "fp32" else ship_half) and \
                        not {"pad_fold", "channel_pad", "concat_slices", "workspace_mib"} & set(f):
                    rates[("dlp",) + key] = float(f["images_per_s"])
                    if "device_mib" in f:
                        memory[("dlp",) + key] = float(f["device_mib"])
    ceilings = {(m, p): t * 1e12 / (g * 1e9) for m, g in flops.items() for p, t in matrix.items()}
    return rates, ceilings, matrix, flops, memory


def table(rates, ceilings):
    out = ["| model | precision | batch | dlp | PyTorch eager | torch.compile | dlp / best PyTorch "
           "| bf16 FLOP ceiling | dlp of the ceiling at its precision |", "|---|---|---|---|---|---|---|---|---|"]
    batches = sorted({k[3] for k in rates})
    for model in MODELS:
        for precision in PRECISIONS:
            for batch in batches:
                get = lambda kind: rates.get((kind, model, precision, batch))
                dlp, eager, compiled = get("dlp"), get("torch"), get("torch-compile")
                if dlp is None and eager is None and compiled is None:
                    continue
                peers = [r for r in (eager, compiled) if r is not None]
                ratio = "%.2fx" % (dlp / max(peers)) if dlp is not None and peers else "-"
                ceiling = ceilings.get((model, "bf16"))
                own = ceilings.get((model, precision))
                share = "%.0f%%" % (100 * dlp / own) if own and dlp is not None else "-"
                cell = lambda r: "-" if r is None else "{:,.0f}".format(r)
                out.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
                    model, precision, batch, cell(dlp), cell(eager), cell(compiled), ratio,
                    cell(ceiling), share))
    return "\n".join(out)


def memory_table(memory):
    out = ["| model | precision | batch | dlp device MiB | PyTorch eager max allocated MiB | dlp / PyTorch |",
           "|---|---|---|---|---|---|"]
    for model in MODELS:
        for precision in PRECISIONS:
            for batch in sorted({k[3] for k in memory}):
                dlp = memory.get(("dlp", model, precision, batch))
                eager = memory.get(("torch", model, precision, batch))
                if dlp is None and eager is None:
                    continue
                cell = lambda m: "-" if m is None else "{:,.0f}".format(m)
                ratio = "%.2fx" % (dlp / eager) if dlp is not None and eager else "-"
                out.append("| %s | %s | %d | %s | %s | %s |" % (model, precision, batch, cell(dlp), cell(eager), ratio))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--ceilings", action="store_true", help="print only the ceiling lines")
    ap.add_argument("--ship-fp32", default="search=heuristic fuse=off graphs=on")
    ap.add_argument("--ship-half", default="search=heuristic fuse=on graphs=on")
    args = ap.parse_args()
    rates, ceilings, matrix, flops, memory = parse(args.logs, args.ship_fp32, args.ship_half)
    if args.ceilings:
        for (model, precision), images in sorted(ceilings.items()):
            print("ceiling model=%s precision=%s tflop_per_s=%.1f gflop_per_image=%.4f images_per_s=%.0f" % (
                model, precision, matrix[precision], flops[model], images))
        return 0 if ceilings else 1
    if not rates:
        print("compute_table: no figures in %s" % " ".join(args.logs), file=sys.stderr)
        return 1
    print(table(rates, ceilings))
    if memory:
        print("\n" + memory_table(memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
