"""catalog:tag_activation_checkpoint.checkpoint: checkpoint(self.block, x, use_reentrant=False).

torch 2.6 exports it in every mode. Strict export fails from 2.9: the
verifier rejects the functional linear left in the checkpoint body (2.9), or
tracing the tag_activation_checkpoint node raises KeyError
'_checkpoint_context_fn', re-raised as a RuntimeError (2.13). Non-strict
export works throughout.
"""

import os

import torch
from torch.utils.checkpoint import checkpoint

print("torch", torch.__version__)


class Checkpointed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.block = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 4)
        )

    def forward(self, x):
        return checkpoint(self.block, x, use_reentrant=False) + x


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


x = torch.randn(3, 4, requires_grad=True)
for strict in (True, False):
    attempt(f"export strict={strict}", torch.export.export, Checkpointed(), (x,), strict=strict)
