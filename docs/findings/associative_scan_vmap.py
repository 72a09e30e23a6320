"""catalog:associative_scan.* and the old associative_scan.cumsum: torch 2.6.

Every export of associative_scan with combine_mode="generic" fails in 2.6
("NYI: querying is_contiguous inside of vmap ..."); eager runs. 2.9 and 2.13
pass. The new cases show the same failure the old cumsum case found.
"""

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


args = (torch.rand(3, 5, 2), torch.randn(3, 5, 2))
attempt("eager", lambda: Recurrence()(*args))
for strict in (True, False):
    attempt(f"export strict={strict}", torch.export.export, Recurrence(), args, strict=strict)
