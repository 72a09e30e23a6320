"""catalog:scan.rnn_cell: an RNN as scan over dim=1, its cell a Linear layer.

In torch 2.6 the new carry requires grad (the Linear's parameters do) and the
initial carry does not, so scan refuses it, in eager and in every export;
strict export reports it as dynamo's "Observed exception". 2.9 and 2.13 pass.
"""

import os

import torch
from torch._higher_order_ops.scan import scan

print("torch", torch.__version__)


class RNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = torch.nn.Linear(4 + 3, 3)

    def forward(self, x):
        def step(h, xt):
            nxt = self.cell(torch.cat([xt, h], dim=-1)).tanh()
            return nxt, nxt.clone()

        return scan(step, x.new_zeros(x.shape[0], 3), x, dim=1)


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


x = torch.randn(3, 5, 4)
attempt("eager", lambda: RNN()(x))
attempt("export strict", lambda: torch.export.export(RNN(), (x,), strict=True))
attempt("export non-strict", lambda: torch.export.export(RNN(), (x,), strict=False))
