"""catalog:cond.item_predicate in the aoti mode: a cond on `x.max().item() > 0.5`.

torch.export.export takes it and the exported program runs; AOTInductor's C++
wrapper for it does not compile (InductorError: CppCompileError) on 2.13.0+cpu.
Needs a C++ compiler; writes its package into a temporary folder.
"""

import tempfile

import torch

print("torch", torch.__version__)


class ItemPredicate(torch.nn.Module):
    def forward(self, x):
        return torch.cond(x.max().item() > 0.5, lambda t: t.cos(), lambda t: t.sin(), (x,))


x = torch.rand(3, 4) + 1.0
ep = torch.export.export(ItemPredicate(), (x,))
print("exported program runs:", torch.allclose(ep.module()(x), ItemPredicate()(x)))
with tempfile.TemporaryDirectory() as folder:
    try:
        path = torch._inductor.aoti_compile_and_package(ep, package_path=f"{folder}/m.pt2")
        loaded = torch._inductor.aoti_load_package(path)
        print("aoti: ok", torch.allclose(loaded(x), ItemPredicate()(x)))
    except Exception as e:
        first = str(e).strip().splitlines()[0][:200]
        print(f"aoti: {type(e).__module__}.{type(e).__name__}: {first}")
