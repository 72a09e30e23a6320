"""catalog:cond.buffer_mutation: a cond branch that copy_()s into a module buffer.

2.6 exports it and the program matches eager. From 2.9 it fails, in eager too:
"Encountered input mutation during higher order op tracing". 2.9's docs
forbid mutating inputs in a branch; 2.13's allow it only with grad disabled,
which the last line shows.
"""

import os

import torch

print("torch", torch.__version__)


class Tracker(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("last_mean", torch.zeros(4))

    def forward(self, x):
        def update(t):
            self.last_mean.copy_(t.mean(0))
            return t - self.last_mean

        return torch.cond(x.sum() > 0, update, lambda t: t * 2.0, (x,))


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


x = torch.rand(3, 4) + 0.1
attempt("eager", lambda: Tracker()(x))
attempt("export", lambda: torch.export.export(Tracker(), (x,)).module()(x))
with torch.no_grad():
    attempt("export under no_grad", lambda: torch.export.export(Tracker(), (x,)).module()(x))
