"""Adam and SGD over a group's stacked parameters, with a learning rate and a weight decay of
each member's own.

A `LeNetGroup` stacks every parameter of its G members along a leading axis, and torch.optim
takes one learning rate and one weight decay per parameter, so it can train a group only when
all its members share both. `MemberwiseOptimizer` holds them as (G,) tensors on the device and
broadcasts them over each parameter's member axis (a view of shape (G, 1, ...)). Adam and SGD
act element by element, so each member's update is the one it would get if trained alone.

Every step runs on the device alone (no `.item()`, no tensor made on the host), so it can be
captured in a CUDA graph; `set_learning_rates` writes the learning rates in place, so that a
captured step follows an lr schedule. The formulas are torch.optim's (Adam as in its fused
kernel: bias corrections in double precision, then float32 arithmetic; SGD with momentum 0.9
and no dampening), which tests/test_engine.py checks step by step against torch.optim.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from lenetcli.config import OPTIMIZERS

SGD_MOMENTUM = 0.9  # lenet's SGD, with or without members of their own (engine.make_optimizer)


class MemberwiseOptimizer(torch.optim.Optimizer):
    """Adam or SGD whose learning rate and weight decay are per member of a stacked group."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        kind: str,
        lrs: list[float],
        weight_decays: list[float],
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        momentum: float = SGD_MOMENTUM,
    ):
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{kind}'; use one of {', '.join(OPTIMIZERS)}")
        params = list(params)
        device, members = params[0].device, params[0].shape[0]
        if len(lrs) != members or len(weight_decays) != members:
            raise ValueError(f"give one learning rate and one weight decay per member ({members})")
        # Double precision as torch's fused Adam computes its step size (lr / bias correction)
        lr = torch.tensor(lrs, dtype=torch.float64, device=device)
        decay = torch.tensor(weight_decays, dtype=torch.float32, device=device)
        defaults = {"kind": kind, "lr": lr, "weight_decay": decay, "betas": betas, "eps": eps,
                    "momentum": momentum, "decays": any(wd != 0 for wd in weight_decays)}  # fmt: skip
        super().__init__(params, defaults)
        # All state exists before the first step, so that a graph captures no allocation of it.
        step = torch.zeros((), dtype=torch.float64, device=device)
        for p in params:
            if kind == "adam":
                self.state[p] = {"step": step, "exp_avg": torch.zeros_like(p),
                                 "exp_avg_sq": torch.zeros_like(p)}  # fmt: skip
            else:
                self.state[p] = {"momentum_buffer": torch.zeros_like(p)}

    def set_learning_rates(self, lrs: list[float]) -> None:
        """The members' learning rates from now on, written in place (a captured step sees them)."""
        for group in self.param_groups:
            group["lr"].copy_(torch.tensor(lrs, dtype=torch.float64))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            if group["kind"] == "adam":
                self._adam(group)
            else:
                self._sgd(group)

    @staticmethod
    def _per_member(values: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """(G,) -> (G, 1, ...), broadcasting over one member's slice of p."""
        return values.view(-1, *[1] * (p.dim() - 1))

    def _gradient(self, group, p: torch.Tensor) -> torch.Tensor:
        """p's gradient plus its weight decay (L2, as torch's Adam and SGD add it)."""
        if not group["decays"]:
            return p.grad
        return p.grad.addcmul(p, self._per_member(group["weight_decay"], p))

    def _adam(self, group) -> None:
        beta1, beta2 = group["betas"]
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        step = self.state[params[0]]["step"]
        step.add_(1)
        # float64 (G,) step sizes and a float64 scalar, then float32 as the parameters
        step_size = (group["lr"] / (1 - beta1**step)).float()
        bias_correction2_sqrt = (1 - beta2**step).sqrt().float()
        for p in params:
            state = self.state[p]
            grad = self._gradient(group, p)
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.sqrt().div_(bias_correction2_sqrt).add_(group["eps"])
            p.addcdiv_(exp_avg * self._per_member(step_size, p), denom, value=-1)

    def _sgd(self, group) -> None:
        lr = group["lr"].float()
        for p in group["params"]:
            if p.grad is None:
                continue
            buf = self.state[p]["momentum_buffer"]
            # torch.optim.SGD starts the buffer at the first gradient: 0.9 * 0 + g is just that
            buf.mul_(group["momentum"]).add_(self._gradient(group, p))
            p.addcmul_(buf, self._per_member(lr, p), value=-1)
