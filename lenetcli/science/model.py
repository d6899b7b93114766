"""LeNet-5, alone (`LeNet5`) and as a group of independent copies trained at once (`LeNetGroup`).

    conv 6@5x5 -> pool 2 -> conv 16@5x5 -> pool 2 -> fc 120 -> fc 84 -> fc 10

Grey 28x28 inputs pad the first convolution by 2 (LeCun's 32x32 field); RGB 32x32 inputs don't.

`LeNetGroup` holds G models with every parameter stacked along a leading axis. Its convolutions
are grouped convolutions (one group per member) and its linear layers batched matrix products,
so G models cost one set of kernel launches. Members never mix: each one's output depends only
on its own parameters and its own input, so its gradients, and the optimizer steps taken on them
(Adam and SGD act element by element), are those it would get if trained alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {  # by the names in config.py, which the tests check
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leakyrelu": F.leaky_relu,
    "elu": F.elu,
}
POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d}  # by the names in config.py


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild a LeNet-5: stored in every checkpoint."""

    in_channels: int = 1
    image_size: int = 28
    num_classes: int = 10
    activation: str = "relu"
    pool: str = "max"

    @property
    def padding(self) -> int:
        return 2 if self.image_size == 28 else 0

    def to_dict(self) -> dict:
        return asdict(self)


class LeNet5(nn.Module):
    """One LeNet-5, as a user would write it: the form saved in checkpoints."""

    def __init__(self, arch: Architecture = Architecture()):
        super().__init__()
        self.arch = arch
        self.conv1 = nn.Conv2d(arch.in_channels, 6, 5, padding=arch.padding)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, arch.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act, pool = ACTIVATIONS[self.arch.activation], POOLS[self.arch.pool]
        x = pool(act(self.conv1(x)), 2)
        x = pool(act(self.conv2(x)), 2)
        x = x.flatten(1)
        x = act(self.fc1(x))
        x = act(self.fc2(x))
        return self.fc3(x)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class LeNetGroup(nn.Module):
    """G independent LeNet-5s whose parameters are stacked: input (G, B, C, H, W) -> (G, B, K)."""

    def __init__(self, members: list[LeNet5]):
        super().__init__()
        self.arch = members[0].arch
        self.size = len(members)
        states = [m.state_dict() for m in members]
        for name in states[0]:
            stacked = torch.stack([s[name].detach() for s in states])
            self.register_parameter(name.replace(".", "_"), nn.Parameter(stacked.clone()))

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's parameters under LeNet5's names, ready for LeNet5.load_state_dict."""
        return {
            name.replace("_", ".", 1): p[i].detach().clone() for name, p in self.named_parameters()
        }

    def member(self, i: int) -> LeNet5:
        model = LeNet5(self.arch).to(self.conv1_weight.device)
        model.load_state_dict(self.member_state(i))
        return model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(G, B, C, H, W) -> (G, B, K): member g's images x[g] through member g."""
        return self.forward_planes(self.planes(x.transpose(0, 1)))

    def planes(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G, C, H, W) -> (B, G*C, H, W): the members side by side as channel groups (kept
        apart by groups=G), in the memory layout the convolutions want. Works on any dtype, so
        that uint8 images can be laid out before they are normalised (a quarter of the bytes
        to copy; normalising is element by element, so the values are the same)."""
        b, g, c, h, w = x.shape
        x = x.reshape(b, g * c, h, w)
        if x.device.type == "cpu" and g > 1:
            # oneDNN's grouped convolutions run 1.6-2x faster channels-last on the CPU
            # (measured with groups of 5 and 10; a single model gained nothing)
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def forward_planes(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G*C, H, W) from `planes`, normalised -> (G, B, K)."""
        b = x.shape[0]
        x = self._feature_block(x, self.conv1_weight, self.conv1_bias, self.arch.padding)
        x = self._feature_block(x, self.conv2_weight, self.conv2_bias, 0)
        x = x.reshape(b, self.size, -1).transpose(0, 1)  # (G, B, 400)
        act = ACTIVATIONS[self.arch.activation]
        x = act(self._linear(x, self.fc1_weight, self.fc1_bias))
        x = act(self._linear(x, self.fc2_weight, self.fc2_bias))
        return self._linear(x, self.fc3_weight, self.fc3_bias)

    def _feature_block(self, x, weight, bias, padding):
        """Convolution, activation, pooling: pool(act(conv(x)))."""
        x = self._conv(x, weight, bias, padding)
        if self.arch.activation == "relu" and self.arch.pool == "max":
            # ReLU after max pooling gives the same values and gradients, exactly, with a
            # quarter of the activation's work, and in place on the pooled map: the step of a
            # group of 5 takes 22-28% less CPU time (docs/performance.md). Exactly: max(relu(a),
            # relu(b)) is relu(max(a, b)), and a window whose maximum is not positive passes a
            # zero gradient either way. Only for ReLU: tanh, sigmoid and elu (leaky ReLU too, in
            # principle) map distinct inputs to equal outputs, where a tie sends the gradient to
            # another position of the window, and training drifts by a few float bits.
            return F.relu_(F.max_pool2d(x, 2))
        return POOLS[self.arch.pool](ACTIVATIONS[self.arch.activation](x), 2)

    def _conv(self, x, weight, bias, padding):
        return F.conv2d(x, weight.flatten(0, 1), bias.flatten(), padding=padding, groups=self.size)

    @staticmethod
    def _linear(x, weight, bias):
        # x (G, B, in), weight (G, out, in), bias (G, out)
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
