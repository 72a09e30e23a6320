"""catalog:map.pytree_xs: map over a dict of batched tensors.

torch 2.6's dynamo asserts that map's xs is one tensor, so strict export
(and the pre-dispatch export, strict there) fails with a bare AssertionError.
"""

import os

import torch
from torch._higher_order_ops.map import map as hop_map

print("torch", torch.__version__)


class Gated(torch.nn.Module):
    def forward(self, xs, gates):
        return hop_map(lambda d: d["x"] * d["gate"].sigmoid(), {"x": xs, "gate": gates})


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


args = (torch.randn(3, 4), torch.randn(3, 4))
for strict in (True, False):
    attempt(f"export strict={strict}", torch.export.export, Gated(), args, strict=strict)
