# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Mixed-precision training loop written against PyTorch 2.0 (benchmark input: kb_recall, target torch==2.4.1).

Every line that uses an API changed by 2.4.1 ends with ``# old-api: <change>``.
"""

import torch
from torch import nn
from torch.autograd.function import traceable  # old-api: torch.autograd.function.traceable
from torch.distributed.pipeline.sync import Pipe  # old-api: torch.distributed.pipeline.sync.Pipe


class ScaledLinear(torch.autograd.Function):
    """A linear layer with custom autocast-aware forward and backward."""

    @staticmethod
    @torch.cuda.amp.custom_fwd  # old-api: torch.cuda.amp.custom_fwd
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return x @ weight.t()

    @staticmethod
    @torch.cuda.amp.custom_bwd  # old-api: torch.cuda.amp.custom_bwd
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return grad @ weight, grad.t() @ x


def build_model(width):
    """A small normalised MLP."""
    torch.set_default_tensor_type(torch.FloatTensor)  # old-api: torch.set_default_tensor_type
    layer = nn.utils.weight_norm(nn.Linear(width, width))  # old-api: torch.nn.utils.weight_norm
    return nn.Sequential(layer, nn.ReLU(), nn.Linear(width, 1))


def train(model, batches, lr=1e-3):
    """Train with automatic mixed precision when a GPU is there."""
    device = "cuda" if torch.has_cuda else "cpu"  # old-api: torch.has_cuda
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scaler = torch.cuda.amp.GradScaler()  # old-api: torch.cuda.amp.GradScaler
    for x, y in batches:
        optimizer.zero_grad()
        with torch.cuda.amp.autocast():  # old-api: torch.cuda.amp.autocast
            loss = nn.functional.mse_loss(model(x.to(device)), y.to(device))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()


def evaluate_on_cpu(model, x):
    with torch.cpu.amp.autocast():  # old-api: torch.cpu.amp.autocast
        return model(x)


def attention(q, k, v):
    with torch.backends.cuda.sdp_kernel(enable_flash=False):  # old-api: torch.backends.cuda.sdp_kernel
        return nn.functional.scaled_dot_product_attention(q, k, v)


def stateless_forward(model, params, x):
    return torch.nn.utils.stateless.functional_call(model, params, (x,))  # old-api: torch.nn.utils.stateless.functional_call


def check_gradients(fn, inputs):
    return torch.autograd.gradcheck(fn, inputs, check_sparse_nnz=True)  # old-api: torch.autograd.gradcheck(check_sparse_nnz)


def ragged(tensors):
    return torch.nested.as_nested_tensor(tensor_list=tensors)  # old-api: torch.nested.as_nested_tensor(tensor_list)


def trace_to(path):
    observer = torch.profiler.ExecutionGraphObserver()  # old-api: torch.profiler.ExecutionGraphObserver
    observer.register_callback(path)
    return observer


def pipelined(stages, chunks=4):
    return Pipe(nn.Sequential(*stages), chunks=chunks)


@traceable
class Identity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x
