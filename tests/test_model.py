import pytest
import torch
import torch.nn.functional as F

from lenetcli.science.model import (
    ACTIVATIONS,
    POOLS,
    Architecture,
    LeNet5,
    LeNetGroup,
    count_parameters,
)

GREY = Architecture(in_channels=1, image_size=28)
RGB = Architecture(in_channels=3, image_size=32)


@pytest.mark.parametrize(("arch", "params"), [(GREY, 61706), (RGB, 62006)])
def test_parameter_counts(arch, params):
    assert count_parameters(LeNet5(arch)) == params


@pytest.mark.parametrize("arch", [GREY, RGB])
def test_output_shape(arch):
    x = torch.randn(4, arch.in_channels, arch.image_size, arch.image_size)
    assert LeNet5(arch)(x).shape == (4, 10)


def test_feature_map_sizes_follow_lenet5():
    # both input kinds reach 16 maps of 5x5 before the first fully connected layer
    for arch in (GREY, RGB):
        assert LeNet5(arch).fc1.in_features == 16 * 5 * 5


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("pool", sorted(POOLS))
def test_group_members_compute_what_they_would_alone(activation, pool):
    arch = Architecture(activation=activation, pool=pool)
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        members.append(LeNet5(arch))
    group = LeNetGroup(members)
    x = torch.randn(3, 5, 1, 28, 28)
    expected = torch.stack([m(x[i]) for i, m in enumerate(members)])
    torch.testing.assert_close(group(x), expected, rtol=1e-5, atol=1e-5)


def test_group_member_round_trip():
    torch.manual_seed(0)
    members = [LeNet5(RGB), LeNet5(RGB)]
    group = LeNetGroup(members)
    for i, original in enumerate(members):
        restored = group.member(i)
        for (name, a), (_, b) in zip(
            original.state_dict().items(), restored.state_dict().items(), strict=True
        ):
            assert torch.equal(a, b), name


def test_members_do_not_share_gradients():
    torch.manual_seed(0)
    group = LeNetGroup([LeNet5(GREY), LeNet5(GREY)])
    x = torch.randn(2, 4, 1, 28, 28)
    group(x)[0].sum().backward()  # a loss that depends on member 0 only
    for p in group.parameters():
        assert p.grad[1].abs().max() == 0
        assert p.grad[0].abs().max() > 0


def test_the_names_a_configuration_accepts_are_the_models():
    from lenetcli import config

    assert tuple(ACTIVATIONS) == config.ACTIVATIONS and tuple(POOLS) == config.POOLS


def forward_activation_first(group: LeNetGroup, x: torch.Tensor) -> torch.Tensor:
    """LeNetGroup's forward in the textbook order, pool(relu(conv(x))), on the same parameters."""
    b = x.shape[1]
    h = group.planes(x.transpose(0, 1))
    h = F.max_pool2d(F.relu(group._conv(h, group.conv1_weight, group.conv1_bias, 2)), 2)
    h = F.max_pool2d(F.relu(group._conv(h, group.conv2_weight, group.conv2_bias, 0)), 2)
    h = h.reshape(b, group.size, -1).transpose(0, 1)
    h = F.relu(group._linear(h, group.fc1_weight, group.fc1_bias))
    h = F.relu(group._linear(h, group.fc2_weight, group.fc2_bias))
    return group._linear(h, group.fc3_weight, group.fc3_bias)


@pytest.mark.parametrize("members", [1, 3])  # contiguous and channels-last convolutions
def test_relu_after_max_pooling_gives_exactly_the_values_and_gradients_of_before(members):
    # Weights and inputs on a coarse grid (quarters, small integers) make the convolutions'
    # outputs tie exactly in many pooling windows, at positive values, at zero and below it:
    # where the order of ReLU and pooling could matter, if anywhere.
    torch.manual_seed(0)
    group = LeNetGroup([LeNet5(GREY) for _ in range(members)])
    with torch.no_grad():
        for p in group.parameters():
            p.copy_(torch.round(torch.randn_like(p) * 2) / 4)
    x = torch.randint(-2, 3, (members, 6, 1, 28, 28)).float()
    outputs, gradients = [], []
    for forward in (LeNetGroup.forward, forward_activation_first):
        group.zero_grad(set_to_none=True)
        out = forward(group, x)
        (out * torch.linspace(-1, 1, out.numel()).view(out.shape)).sum().backward()
        outputs.append(out.detach())
        gradients.append([p.grad.clone() for p in group.parameters()])
    assert torch.equal(outputs[0], outputs[1])
    for name, a, b in zip(dict(group.named_parameters()), *gradients, strict=True):
        assert torch.equal(a, b), name
    assert any(g.abs().sum() > 0 for g in gradients[0])
