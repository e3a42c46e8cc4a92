#!/usr/bin/env python3
"""compute_table.py LOG...: issue 4's benchmark (a) and (c) as one markdown table, from the logs of one
bench/gpu_prebuilt.sh run (the compute_table_* steps, featurize_torch_compile, flop_ceiling).

Reads lines in the harness' formats:
  model=ResNet50 precision=fp16 batch=256 images_per_s=... search=timed fuse=on graphs=on ...   (featurize_gpu)
  peer=torch model=ResNet50 precision=fp16 batch=256 images_per_s=...                         (featurize_torch_gpu.py)
  peer=torch-compile model=ResNet50 precision=fp16 batch=256 images_per_s=...
  ceiling model=ResNet50 bf16_tflop_per_s=... images_per_s=...                                (flop_ceiling)
dlp's row is the configuration the featurizer ships (--ship-fp32 and --ship-half: search/fuse/graphs, as
featurize_gpu prints them); other dlp lines (ablations) are left out. Prints, per model, precision and batch:
dlp, PyTorch eager, torch.compile, dlp / the best PyTorch figure, and for fp16/bf16 the share of the bf16 FLOP
ceiling. A configuration missing on either side shows '-'; nothing is invented."""
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
    ceilings = {}  # model -> images/s
    for path in paths:
        if not os.path.exists(path):  # a step that did not run (ONLY, budget)
            print("compute_table: %s: no such log, left out" % path, file=sys.stderr)
            continue
        with open(path, errors="replace") as handle:
            for line in handle:
                f = fields(line)
                if line.startswith("ceiling ") and "images_per_s" in f:
                    ceilings[f["model"]] = float(f["images_per_s"])
                    continue
                if "images_per_s" not in f or "model" not in f or "batch" not in f:
                    continue
                key = (f["model"], f.get("precision"), int(f["batch"]))
                if "peer" in f:
                    rates[(f["peer"],) + key] = float(f["images_per_s"])
                elif dlp_config(f) == (ship_fp32 if f.get("precision") == "fp32" else ship_half) and \
                        not {"pad_fold", "channel_pad", "concat_slices", "workspace_mib"} & set(f):
                    rates[("dlp",) + key] = float(f["images_per_s"])
    return rates, ceilings


def table(rates, ceilings):
    out = ["| model | precision | batch | dlp | PyTorch eager | torch.compile | dlp / best PyTorch "
           "| bf16 FLOP ceiling | dlp of ceiling |", "|---|---|---|---|---|---|---|---|---|"]
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
                ceiling = ceilings.get(model) if precision != "fp32" else None
                share = "%.0f%%" % (100 * dlp / ceiling) if ceiling and dlp is not None else "-"
                cell = lambda r: "-" if r is None else "{:,.0f}".format(r)
                out.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
                    model, precision, batch, cell(dlp), cell(eager), cell(compiled), ratio,
                    cell(ceiling), share))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--ship-fp32", default="search=heuristic fuse=off graphs=on")
    ap.add_argument("--ship-half", default="search=timed fuse=on graphs=on")
    args = ap.parse_args()
    rates, ceilings = parse(args.logs, args.ship_fp32, args.ship_half)
    if not rates:
        print("compute_table: no figures in %s" % " ".join(args.logs), file=sys.stderr)
        return 1
    print(table(rates, ceilings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
