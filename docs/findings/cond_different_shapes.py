"""catalog:cond.different_shapes: branches return (batch, 6) and (batch, 3).

2.6 rejects it in every mode (branch outputs had to match then); 2.9 and 2.13
merge the sizes into an unbacked one, but non-strict export fails on a
KeyError inside fake tensor propagation while strict export works.
"""

import os

import torch

print("torch", torch.__version__)


class Truncate(torch.nn.Module):
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda t: t.cos(), lambda t: t[:, 3:].sin(), (x,))


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


x = torch.rand(3, 6) + 0.1
for strict in (True, False):
    attempt(f"export strict={strict}", torch.export.export, Truncate(), (x,), strict=strict)
