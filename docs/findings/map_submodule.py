"""catalog:map.submodule: map(self.mlp, xs), a submodule applied to each example.

torch 2.6's non-strict export leaves a fake tensor in a get_attr node and the
verifier rejects the program; strict export works. 2.9 and 2.13 pass.
"""

import os

import torch
from torch._higher_order_ops.map import map as hop_map

print("torch", torch.__version__)


class PerExample(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)
        )

    def forward(self, xs):
        return hop_map(lambda x: self.mlp(x), xs)


def attempt(label, fn, *args, **kwargs):
    """Run fn in a forked child: a failed trace can leave state that changes the next error."""
    pid = os.fork()
    if pid == 0:
        try:
            fn(*args, **kwargs)
            print(f"{label}: ok", flush=True)
        except Exception as e:
            first = str(e).strip().splitlines()[0][:200]
            print(f"{label}: {type(e).__module__}.{type(e).__name__}: {first}", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)


xs = torch.randn(3, 2, 4)
for strict in (True, False):
    attempt(f"export strict={strict}", torch.export.export, PerExample(), (xs,), strict=strict)
