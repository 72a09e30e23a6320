"""flex_attention as models call it: a score_mod, a block mask, tensors they read."""

from __future__ import annotations

from typing import Any

import torch

from suites.cases import Built, Case, Sample, module_of, requires
from suites.catalog.entries import CREATE_BLOCK_MASK, FLEX_ATTENTION, FLEX_SINCE, entry, randn

BATCH, HEADS, SEQ, DIM = 2, 2, 128, 8  # SEQ: one block of create_block_mask's default 128


def _qkv(device: str) -> tuple[torch.Tensor, ...]:
    return tuple(randn(device, BATCH, HEADS, SEQ, DIM) for _ in range(3))


def build_flex_attention_causal(device: str) -> Built:
    """flex_attention(q, k, v, score_mod=..., block_mask=causal) with the mask built once."""
    flex_attention = entry(FLEX_ATTENTION)
    create_block_mask = entry(CREATE_BLOCK_MASK)
    # Built once outside forward, as users do; a mask built inside forward makes
    # torch 2.6 trace vmap and fail differently from run to run.
    mask = create_block_mask(lambda b, h, q, kv: q >= kv, None, None, SEQ, SEQ, device=device)

    def score_mod(score: Any, b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        return score + (q_idx - kv_idx)

    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return flex_attention(q, k, v, score_mod=score_mod, block_mask=mask)

    return module_of(forward), (Sample(_qkv(device)),)


def build_flex_attention_score_bias(device: str) -> Built:
    """A score_mod that reads a learned bias tensor: score + self.bias[h, q_idx, kv_idx]."""
    flex_attention = entry(FLEX_ATTENTION)

    # Without torch installed (the lint env) torch.nn.Module is Any to mypy.
    class BiasedAttention(torch.nn.Module):  # type: ignore[misc, unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.bias = torch.nn.Parameter(torch.randn(HEADS, SEQ, SEQ) * 0.1)

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            def score_mod(score: Any, b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
                return score + self.bias[h, q_idx, kv_idx]

            return flex_attention(q, k, v, score_mod=score_mod)

    return BiasedAttention().to(device), (Sample(_qkv(device)),)


def build_flex_attention_document_mask(device: str) -> Built:
    """A mask_mod that reads per-token document ids, its block mask built in forward."""
    flex_attention = entry(FLEX_ATTENTION)
    create_block_mask = entry(CREATE_BLOCK_MASK)

    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, docs: torch.Tensor) -> Any:
        def same_document(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
            return docs[b, q_idx] == docs[b, kv_idx]

        mask = create_block_mask(same_document, q.shape[0], None, SEQ, SEQ, device=q.device)
        return flex_attention(q, k, v, block_mask=mask)

    # Three documents per sequence, split at other places in each batch row.
    positions = torch.arange(SEQ, device=device)
    docs = torch.stack([(positions >= 40).long() + (positions >= 90).long(), positions // 50])
    return module_of(forward), (Sample((*_qkv(device), docs)),)


CASES: tuple[Case, ...] = (
    Case(
        "flex_attention",
        "causal",
        build_flex_attention_causal,
        requires(FLEX_ATTENTION, CREATE_BLOCK_MASK),
        since=FLEX_SINCE,
    ),
    Case(
        "flex_attention",
        "score_bias",
        build_flex_attention_score_bias,
        requires(FLEX_ATTENTION),
        since=FLEX_SINCE,
    ),
    Case(
        "flex_attention",
        "document_mask",
        build_flex_attention_document_mask,
        requires(FLEX_ATTENTION, CREATE_BLOCK_MASK),
        since=FLEX_SINCE,
    ),
)
