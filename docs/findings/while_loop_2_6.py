"""catalog:while_loop.* (new cases) on torch 2.6: the two failures the old while_loop cases found.

Non-strict export fails ("while_loop doesn't work unless it is captured
completely with torch.compile"); after save/load the program fails with
"carried_inputs must be a tuple, got <class 'list'>" (the known behaviour
while_loop.serde-carried-inputs). Here with a dict in the carry.
"""

import io
import os

import torch
from torch._higher_order_ops.while_loop import while_loop

print("torch", torch.__version__)


class DictCarry(torch.nn.Module):
    def forward(self, it, x):
        def body(i, state):
            h = state["h"].tanh()
            return i - 1, {"h": h, "acc": state["acc"] + h}

        return while_loop(lambda i, s: i > 0, body, (it, {"h": x, "acc": torch.zeros_like(x)}))


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


def round_trip():
    buffer = io.BytesIO()
    ep = torch.export.export(DictCarry(), args, strict=True).run_decompositions()
    torch.export.save(ep, buffer)
    buffer.seek(0)
    torch.export.load(buffer).module()(*args)


args = (torch.tensor(3), torch.randn(3, 4))
attempt("export strict=False", lambda: torch.export.export(DictCarry(), args, strict=False))
attempt("save, load, run", round_trip)
