"""catalog:map.* in the dynamic mode: export fixes the mapped (batch) dimension.

Exported with xs's dimension 0 as Dim.AUTO, torch 2.6 and 2.9 keep map_impl
in the graph but specialise that dimension to the sample's size, strict and
non-strict alike, so the program refuses any other batch. A named Dim is
refused ("Constraints violated"), except by 2.6's strict export, which
specialises it silently. 2.13 keeps it dynamic and runs batch 5.
"""

import os

import torch
from torch._higher_order_ops.map import map as hop_map

print("torch", torch.__version__)


class AddEach(torch.nn.Module):
    def forward(self, xs, y):
        return hop_map(lambda x, y: x.sin() + y, xs, y)


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


args = (torch.randn(3, 2, 2), torch.randn(2, 2))
bigger = (torch.randn(5, 2, 2), args[1])


def export_and_run_batch_5(strict, dim):
    spec = {"xs": {0: dim}, "y": None}
    ep = torch.export.export(AddEach(), args, dynamic_shapes=spec, strict=strict)
    xs = next(n for n in ep.graph.nodes if n.op == "placeholder").meta["val"]
    print(f"  xs in the program: {tuple(xs.shape)}", flush=True)
    torch.testing.assert_close(ep.module()(*bigger), AddEach()(*bigger))


for strict in (True, False):
    for dim in (torch.export.Dim.AUTO, torch.export.Dim("batch")):
        label = f"strict={strict} {'Dim.AUTO' if dim is torch.export.Dim.AUTO else 'Dim(batch)'}"
        attempt(f"{label}, run batch 5", export_and_run_batch_5, strict, dim)
