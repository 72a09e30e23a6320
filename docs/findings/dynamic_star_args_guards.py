"""catalog cases built with module_of, in the dynamic mode on torch 2.9.1: NameError 'L'.

A module whose forward is `forward(self, *args)` exports with dynamic batch
dimensions, but calling ep.module() fails with "NameError: name 'L' is not
defined" whenever export recorded a guard on those dimensions (here x and y
must have one batch size). 2.9's ExportedProgram.module() compiles into a
_guards_fn the checks it derives itself, which name the unlifted module's
parameters (args_0, args_1), and the guards export's tracer recorded, which
name the inputs as forward saw them (L['args'][0]): those are never renamed,
so `L` stays. A forward with named parameters works, and so does a *args
forward with no guard (StarArgsNoGuard); module(check_guards=False) works
around it. 2.6 and 2.13 run all three. The last line shows the checks work
where they can: batches 3 and 2 are refused, on 2.9 too (a derived check
fails before the broken one runs). No HOP is needed.

The family: associative_scan.cumsum, cond.pytree_operands,
cond.same_branches_twice, invoke_subgraph.reused, flex_attention.causal,
hints_wrapper.simple, auto_functionalize.in_cond (and upstream's
auto_functionalize.simple). All pass with check_guards=False but
associative_scan.cumsum (dynamic_associative_scan.py).
"""

import inspect
import os

import torch

print("torch", torch.__version__)


class Named(torch.nn.Module):
    def forward(self, x, y):
        return x + y


class StarArgs(torch.nn.Module):
    def forward(self, *args):
        x, y = args
        return x + y


class StarArgsNoGuard(torch.nn.Module):
    def forward(self, *args):
        x, y = args
        return x.sin() * 2.0, y.cos()


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


x, y = torch.randn(3, 4), torch.randn(3, 4)
batch = {0: torch.export.Dim.AUTO}
specs = {
    Named: {"x": batch, "y": batch},
    StarArgs: ((batch, batch),),
    StarArgsNoGuard: ((batch, batch),),
}


def run(cls, **module_kwargs):
    ep = torch.export.export(cls(), (x, y), dynamic_shapes=specs[cls])
    ep.module(**module_kwargs)(x, y)


def run_mismatched():
    ep = torch.export.export(StarArgs(), (x, y), dynamic_shapes=specs[StarArgs])
    ep.module()(x, y[:2])


for cls in specs:
    attempt(f"{cls.__name__}: export, module()(x, y)", run, cls)
if "check_guards" in inspect.signature(torch.export.ExportedProgram.module).parameters:
    attempt("StarArgs: export, module(check_guards=False)(x, y)", run, StarArgs, check_guards=False)
attempt("StarArgs: export, module()(x, y[:2])", run_mismatched)
