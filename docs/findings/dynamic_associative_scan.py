"""catalog:associative_scan.* in the dynamic mode: no size but the sample's is exported.

combine_mode="generic" (the mode for CPU tensors) is a Python recursion that
export traces through: no associative_scan node is left in the graph. On
torch 2.9 and 2.13, a Dim.AUTO batch beside the scanned dimension is
specialised (pytree_combine and reverse scan dim 1: their batch is fixed to
3). A Dim.AUTO scanned dimension stays symbolic, with a range of 4 to 7
around the sample's 5, but the guards export keeps (one is
`size // 2 % 2 == 0`) admit 5 alone: module() refuses 4 and 6, and with
check_guards=False it returns 5 rows for 4 or 6 (cumsum; on 2.9 its suite
cell shows dynamic_star_args_guards.py's NameError first). 2.6 fails to
export either (associative_scan_vmap.py).
"""

import inspect
import os

import torch
from torch._higher_order_ops.associative_scan import associative_scan

print("torch", torch.__version__)


class Recurrence(torch.nn.Module):
    def forward(self, a, b):
        def combine(left, right):
            (a1, b1), (a2, b2) = left, right
            return a2 * a1, a2 * b1 + b2

        return associative_scan(combine, (a, b), 1, combine_mode="generic")


class Cumsum(torch.nn.Module):
    def forward(self, xs):
        return associative_scan(lambda x, y: x + y, xs, 0, combine_mode="generic")


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


auto = {0: torch.export.Dim.AUTO}


def shapes(ep):
    return [tuple(n.meta["val"].shape) for n in ep.graph.nodes if n.op == "placeholder"]


def recurrence():
    args = (torch.rand(3, 5, 2), torch.randn(3, 5, 2))
    ep = torch.export.export(Recurrence(), args, dynamic_shapes={"a": auto, "b": auto})
    print(f"  Recurrence, batch marked: inputs in the program {shapes(ep)}", flush=True)


def cumsum(**module_kwargs):
    ep = torch.export.export(Cumsum(), (torch.randn(5, 3),), dynamic_shapes={"xs": auto})
    print(f"  inputs {shapes(ep)}, ranges {ep.range_constraints}", flush=True)
    program = ep.module(**module_kwargs)
    for n in (4, 5, 6):
        xs = torch.randn(n, 3)
        try:
            out = program(xs)
            same = out.shape == xs.shape and torch.allclose(out, xs.cumsum(0), atol=1e-5)
            print(f"  length {n}: {'matches eager' if same else f'returns {tuple(out.shape)}'}")
        except Exception as e:
            print(f"  length {n}: {type(e).__name__}: {str(e).strip().splitlines()[0][:120]}")


attempt("Recurrence, batch marked", recurrence)
attempt("Cumsum, length marked, module()", cumsum)
if "check_guards" in inspect.signature(torch.export.ExportedProgram.module).parameters:
    attempt("Cumsum, length marked, module(check_guards=False)", cumsum, check_guards=False)
