"""catalog:flex_attention.score_bias: a score_mod reading a learned bias parameter.

torch 2.6 fails to export it in most runs, not all ("NYI: querying
is_contiguous inside of vmap ...", sometimes "Either your tensor may have
escaped from inside a function being vmapped ..."), though eager runs: this
script exports it in five fresh interpreters. 2.9 and 2.13 export it; save
then fails on the flex_attention node, as for flex_attention.causal.
"""

import io
import subprocess
import sys

import torch
from torch.nn.attention.flex_attention import flex_attention


class BiasedAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.randn(2, 128, 128) * 0.1)

    def forward(self, q, k, v):
        def score_mod(score, b, h, q_idx, kv_idx):
            return score + self.bias[h, q_idx, kv_idx]

        return flex_attention(q, k, v, score_mod=score_mod)


def once(step):
    qkv = tuple(torch.randn(2, 2, 128, 8) for _ in range(3))
    try:
        ep = torch.export.export(BiasedAttention(), qkv)
        if step == "save":
            torch.export.save(ep.run_decompositions(), io.BytesIO())
        print(f"{step}: ok", flush=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0][:200]
        print(f"{step}: {type(e).__module__}.{type(e).__name__}: {first}", flush=True)


if len(sys.argv) > 1:
    once(sys.argv[1])
else:
    print("torch", torch.__version__, flush=True)
    for _ in range(5):
        subprocess.run([sys.executable, "-W", "ignore", __file__, "export"], check=True)
    subprocess.run([sys.executable, "-W", "ignore", __file__, "save"], check=True)
