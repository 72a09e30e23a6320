"""catalog:flex_attention.document_mask in the dynamic mode: torch 2.9.1's export fails.

Non-strict export with any dimension 0 as Dim.AUTO (all four inputs, as the
suite marks them, or only docs) fails inside create_block_mask's vmap of the
mask_mod, indexing docs: "RuntimeError: 8*s85 (...)is not tracked with proxy
for <..._ModuleStackTracer ...>". Static export works (the first attempt),
and so does a causal mask built in forward with a dynamic batch (the last):
it is the mask_mod reading a tensor. The error comes from the fake tensor
cache: with torch._dynamo.config.fake_tensor_cache_enabled = False, 2.9
exports it and the program matches eager at batch 3. 2.13 exports it and
runs batch 3. 2.6 fails to export it at all (flex_attention_document_mask.py),
and so does 2.9's strict export.
"""

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


class CausalAttention(torch.nn.Module):
    def forward(self, q, k, v, docs):
        mask = create_block_mask(
            lambda b, h, q_idx, kv_idx: q_idx >= kv_idx, q.shape[0], None, 128, 128, device=q.device
        )
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
auto = {0: torch.export.Dim.AUTO}


def export_and_run_batch_3(cls, spec, run=True):
    ep = torch.export.export(cls(), args, dynamic_shapes=spec, strict=False)
    if run:
        batch_3 = tuple(t[[0, 1, 0]] for t in args)  # row i of batch 3 is row i mod 2
        torch.testing.assert_close(ep.module()(*batch_3), cls()(*batch_3))


every, docs_only = (auto,) * 4, (None, None, None, auto)
attempt("static export", export_and_run_batch_3, DocumentAttention, None, run=False)
attempt("every batch Dim.AUTO, run batch 3", export_and_run_batch_3, DocumentAttention, every)
attempt("docs' batch Dim.AUTO", export_and_run_batch_3, DocumentAttention, docs_only, run=False)
attempt(
    "causal mask, every batch Dim.AUTO, run batch 3", export_and_run_batch_3, CausalAttention, every
)
