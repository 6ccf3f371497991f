"""Predicted 2:4 speedup of the calibrated H100 config on Transformer layers it was not fitted on.

Run: ``python benchmarks/h100_transformer_shapes.py`` → markdown table (docs/fidelity.md) and
``benchmarks/results/h100_transformer_shapes.json``. Layers: the attention projection (d×d), FF1 (d×ffn)
and FF2 (ffn×d) of d_model/ffn = 512/2048, 1024/4096, 4096/11008, at 2k–16k tokens, fp16.
"""

from __future__ import annotations

import json
from pathlib import Path

import nmsim
from nmsim.io.atomic import write_text_atomic

MODELS = [(512, 2048), (1024, 4096), (4096, 11008)]
TOKENS = [2048, 4096, 8192, 16384]


def main() -> None:
    hw = nmsim.load_hardware("nvidia_h100_sxm")
    rows = []
    for d, ffn in MODELS:
        for name, (k, n) in {"proj": (d, d), "ff1": (d, ffn), "ff2": (ffn, d)}.items():
            for tokens in TOKENS:
                dense = nmsim.simulate_gemm(tokens, n, k, hw, dtype="fp16")
                sparse = nmsim.simulate_gemm(tokens, n, k, hw, sparsity="2:4", dtype="fp16")
                rows.append(
                    {
                        "model": f"{d}/{ffn}",
                        "layer": name,
                        "tokens": tokens,
                        "k": k,
                        "n": n,
                        "dense_us": dense.latency_s * 1e6,
                        "sparse_us": sparse.latency_s * 1e6,
                        "speedup": dense.latency_s / sparse.latency_s,
                        "bound_dense": dense.bound,
                        "bound_sparse": sparse.bound,
                    }
                )
    write_text_atomic(
        Path(__file__).parent / "results" / "h100_transformer_shapes.json", json.dumps(rows, indent=1) + "\n"
    )
    print("| d_model/ffn | layer (K×N) | " + " | ".join(f"{t} tok" for t in TOKENS) + " |")
    print("|---|---|" + "---|" * len(TOKENS))
    for d, ffn in MODELS:
        for layer in ("proj", "ff1", "ff2"):
            sel = [r for r in rows if r["model"] == f"{d}/{ffn}" and r["layer"] == layer]
            kn = f"{sel[0]['k']}×{sel[0]['n']}"
            cells = " | ".join(
                f"{r['speedup']:.2f}× ({r['dense_us']:.0f} µs, {r['bound_dense'][0]})" for r in sel
            )
            print(f"| {d}/{ffn} | {layer} ({kn}) | {cells} |")


if __name__ == "__main__":
    main()
