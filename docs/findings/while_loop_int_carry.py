"""catalog:while_loop.int_carry: a Python int carried beside a tensor (allowed from 2.7).

Export works and runs, but torch.export.save cannot serialize the while_loop
node whose carried inputs mix an int and a tensor. In 2.6 (before the
case's since) export itself rejects the int carry.
"""

import io
import os

import torch
from torch._higher_order_ops.while_loop import while_loop

print("torch", torch.__version__)


class CountedLoop(torch.nn.Module):
    def forward(self, x):
        return while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t.cos()), (0, x))


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


x = torch.randn(3, 4)
attempt("export and run", lambda: torch.export.export(CountedLoop(), (x,)).module()(x))
attempt("save", lambda: torch.export.save(torch.export.export(CountedLoop(), (x,)), io.BytesIO()))
