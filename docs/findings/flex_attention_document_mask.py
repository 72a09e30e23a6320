"""catalog:flex_attention.document_mask: a mask_mod reading document ids, mask built in forward.

torch 2.6 fails in both strict and non-strict export; 2.9's strict export
fails on id() inside create_block_mask (its non-strict export works); 2.13
exports both ways. Save/load fails on the flex_attention node where export
works, as for flex_attention.causal.
"""

import io
import os

import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

print("torch", torch.__version__)


class DocumentAttention(torch.nn.Module):
    def forward(self, q, k, v, docs):
        def same_document(b, h, q_idx, kv_idx):
            return docs[b, q_idx] == docs[b, kv_idx]

        mask = create_block_mask(same_document, q.shape[0], None, 128, 128, device=q.device)
        return flex_attention(q, k, v, block_mask=mask)


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


positions = torch.arange(128)
docs = torch.stack([(positions >= 40).long() + (positions >= 90).long(), positions // 50])
args = (*(torch.randn(2, 2, 128, 8) for _ in range(3)), docs)
attempt("eager", lambda: DocumentAttention()(*args))
for strict in (True, False):
    attempt(
        f"export strict={strict}", torch.export.export, DocumentAttention(), args, strict=strict
    )


def save():
    ep = torch.export.export(DocumentAttention(), args, strict=False).run_decompositions()
    torch.export.save(ep, io.BytesIO())


attempt("save", save)
