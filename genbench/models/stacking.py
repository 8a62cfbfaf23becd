"""Member modules: the networks of several trials seen as one, with a leading member dimension.

Trials that differ only in their seed train together as a vectorized ensemble (DESIGN.md, the
runner's unit of work): every tensor the training step handles has shape [E, batch, ...], and each
network is a *member module* that maps [E, batch, ...] to [E, batch, ...] with member k computed
by trial k's own weights only. Two kinds:

- ``SingleMember`` wraps one trial's network unchanged (E = 1): any module, user models included,
  computes exactly as when it trained alone; the member dimension is added and removed around it.
- ``StackedMembers`` (E > 1) is a copy of member 0's module tree whose parameters are the members'
  parameters stacked on a new leading dimension. Its modules must be *batch-agnostic*: every leading
  dimension of their input is treated as a batch dimension (elementwise activations, reshapes on
  negative dims, genbench's own wrappers written that way), except the parameterised leaves, which
  ``LEAF_STACKERS`` replaces by member versions (``nn.Linear`` -> ``MemberLinear``, a batched
  matmul). This is the fast path: on a CPU, 8 MLP members trained at 1.5x the trial-steps/s of
  the same members vmapped (issue 10's measurement).
- ``VmappedMembers`` (E > 1) serves every other network (convolutions, batch norm): the members'
  parameters and buffers stacked with ``torch.func.stack_module_state`` and the forward pass
  ``vmap``-ed over the member dimension with ``functional_call``. A network with a weight
  parametrization (genbench's spectral norm remedy) is vmapped too: stacking its layers would drop
  the parametrization. torch's own power-iteration spectral norm does not vmap (its in-place
  ``out=`` updates have no batching rule), so models that use it do not stack.

Members are independent: no operation mixes them, so the gradient of the summed members' losses
is each member's own gradient, and an elementwise optimizer (Adam, AdamW, RMSprop, SGD) over the
stacked tensors is one optimizer per member. What is a norm or a statistic (gradient norms,
penalties, divergence) is computed per member by the step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from genbench.errors import GenbenchError
from genbench.models.dirac import DiracDiscriminator, DiracGenerator
from genbench.models.minibatch_std import MinibatchStd
from genbench.models.mlp import PackedDiscriminator
from genbench.models.parts import GanParts, VaeParts
from genbench.models.vae import BernoulliDecoder, GaussianDecoder, GaussianEncoder


class MemberLinear(nn.Module):
    """E linear layers applied member by member: weight [E, out, in], bias [E, out], input
    [E, batch, in]. The parameter names and per-member shapes are nn.Linear's, so a member's
    slice of the state dict is a Linear's state dict."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias) if bias is not None else None

    @classmethod
    def stacked(cls, layers: list[nn.Linear]) -> MemberLinear:
        weight = torch.stack([layer.weight.detach() for layer in layers]).clone()
        has_bias = layers[0].bias is not None
        bias = torch.stack([layer.bias.detach() for layer in layers]).clone() if has_bias else None
        return cls(weight, bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(inputs, self.weight.transpose(1, 2))
        return torch.baddbmm(self.bias.unsqueeze(1), inputs, self.weight.transpose(1, 2))


#: parameterised leaf modules and how E of them become one member module
LEAF_STACKERS: dict[type[nn.Module], Callable[[list[Any]], nn.Module]] = {nn.Linear: MemberLinear.stacked}


def _always(_: nn.Module) -> bool:
    return True


#: module types whose forward treats every leading dimension as a batch dimension, with the
#: condition under which an instance does (a reshape must count its dims from the end); their own
#: parameters, if any, broadcast over the leading dims through ``member_view``
BATCH_AGNOSTIC: dict[type[nn.Module], Callable[[Any], bool]] = {
    nn.Sequential: _always,
    nn.Identity: _always,
    nn.ReLU: _always,
    nn.LeakyReLU: _always,
    nn.ELU: _always,
    nn.GELU: _always,
    nn.SiLU: _always,
    nn.Tanh: _always,
    nn.Sigmoid: _always,
    nn.Softplus: _always,
    nn.Flatten: lambda module: module.start_dim < 0 and module.end_dim < 0,
    nn.Unflatten: lambda module: module.dim < 0,
    PackedDiscriminator: _always,
    MinibatchStd: _always,
    DiracGenerator: _always,
    DiracDiscriminator: _always,
    GaussianEncoder: _always,
    BernoulliDecoder: _always,
    GaussianDecoder: _always,
}


def unstackable_part(module: nn.Module) -> str | None:
    """The first submodule that cannot be part of a stacked member module, or None."""
    for name, submodule in module.named_modules():
        if parametrize.is_parametrized(submodule):
            # its weight is computed from the parametrization's own tensors at every pass, which a
            # member leaf would replace by a plain stacked weight
            return f"{name or 'the network'} ({type(submodule).__name__})"
        kind = type(submodule)
        if kind in LEAF_STACKERS:
            continue
        condition = BATCH_AGNOSTIC.get(kind)
        if condition is None or not condition(submodule):
            return f"{name or 'the network'} ({kind.__name__})"
    return None


def _lift(output: Any) -> Any:
    """Add the member dimension to a network's output (a tensor or a tuple of tensors)."""
    if isinstance(output, tuple):
        return tuple(part.unsqueeze(0) for part in output)
    return output.unsqueeze(0)


class WrappedMembers(nn.Module):
    """What the two member modules that wrap a network (``self.module``) share: the parameter
    list, made once (walking the module tree every step costs a small network's step time), and
    compiled forward passes kept as functions, not modules, so the state dict stays the network's."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.parameter_list = list(module.parameters())
        self.compiled_forward: Callable[..., Any] | None = None
        self.compiled_log_likelihood: Callable[..., Any] | None = None

    def compile_forward(self) -> None:
        """Compile the forward pass and, for a VAE decoder, the likelihood training evaluates."""
        self.compiled_forward = torch.compile(self.module.forward)
        if hasattr(self.module, "log_likelihood"):
            self.compiled_log_likelihood = torch.compile(self.module.log_likelihood)

    @property
    def likelihood(self) -> str:
        return self.module.likelihood

    def member_parameters(self) -> list[nn.Parameter]:
        return self.parameter_list


class SingleMember(WrappedMembers):
    """One trial's network as an ensemble of one: inputs [1, batch, ...] reach it as [batch, ...]
    (even for a batch-agnostic network: nn.Linear on a 3-D input is slower than on a 2-D one)."""

    size = 1

    def forward(self, *inputs: torch.Tensor) -> Any:
        network = self.compiled_forward or self.module
        if len(inputs) == 1:  # the common case, without a generator expression: it is every step
            output = network(inputs[0][0])
            return output.unsqueeze(0) if isinstance(output, torch.Tensor) else _lift(output)
        return _lift(network(*(tensor[0] for tensor in inputs)))

    def log_likelihood(self, *inputs: torch.Tensor) -> torch.Tensor:
        likelihood = self.compiled_log_likelihood or self.module.log_likelihood
        return _lift(likelihood(*(tensor[0] for tensor in inputs)))

    def member_grad_norms(self) -> torch.Tensor:
        """||gradient|| over all parameters, shape [1]."""
        grads = [parameter.grad for parameter in self.parameter_list if parameter.grad is not None]
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)), dim=0, keepdim=True)

    def write_member(self, member: int, into: nn.Module) -> None:
        if member != 0 or into is not self.module:
            raise GenbenchError("an ensemble of one trains that trial's own network in place")


class StackedMembers(WrappedMembers):
    """E networks of one architecture as one: parameters [E, ...], inputs [E, batch, ...]."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__(_stacked_copy(members))
        self.size = len(members)

    def forward(self, *inputs: torch.Tensor) -> Any:
        return (self.compiled_forward or self.module)(*inputs)

    def log_likelihood(self, *inputs: torch.Tensor) -> torch.Tensor:
        return (self.compiled_log_likelihood or self.module.log_likelihood)(*inputs)

    def member_grad_norms(self) -> torch.Tensor:
        return stacked_grad_norms(self.parameter_list, self.size)

    @torch.no_grad()
    def write_member(self, member: int, into: nn.Module) -> None:
        """Copy member ``member``'s current weights and buffers into ``into`` (its own network)."""
        targets = into.state_dict()
        for name, stacked in self.module.state_dict().items():
            targets[name].copy_(stacked[member].reshape(targets[name].shape))


def stacked_grad_norms(parameters: list[nn.Parameter], members: int) -> torch.Tensor:
    """Each member's ||gradient|| over all its parameters, shape [E], from parameters stacked on
    a leading member dimension."""
    grads = [parameter.grad.reshape(members, -1) for parameter in parameters if parameter.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads, dim=1), dim=1)


def _stacked_copy(members: list[nn.Module]) -> nn.Module:
    problem = unstackable_part(members[0])
    if problem is not None:
        raise GenbenchError(f"cannot train these trials as an ensemble: {problem} does not stack")
    stacked = copy.deepcopy(members[0])
    for name, leaf in list(stacked.named_modules()):
        stacker = LEAF_STACKERS.get(type(leaf))
        if stacker is not None:
            stacked.set_submodule(name, stacker([member.get_submodule(name) for member in members]))
    for module_name, module in stacked.named_modules():
        if type(module) in LEAF_STACKERS or isinstance(module, MemberLinear):
            continue
        for name, _ in list(module.named_parameters(recurse=False)):
            path = f"{module_name}.{name}" if module_name else name
            values = torch.stack([member.get_parameter(path).detach() for member in members]).clone()
            setattr(module, name, nn.Parameter(values))
    return stacked


class MethodCall(nn.Module):
    """Calls one method of ``inner`` as its forward pass: ``functional_call`` calls only forward,
    and a VAE decoder's training calls its ``log_likelihood``."""

    def __init__(self, inner: nn.Module, method: str) -> None:
        super().__init__()
        self.inner = inner
        self.method = method

    def forward(self, *inputs: torch.Tensor) -> Any:
        return getattr(self.inner, self.method)(*inputs)


class VmappedMembers(nn.Module):
    """E networks of one architecture as one through torch.func: parameters and buffers [E, ...],
    the forward pass vmapped over the member dimension, so any network's own code runs per member
    (convolutions, batch norm with its running statistics kept per member)."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.size = len(members)
        parameters, buffers = torch.func.stack_module_state(members)
        self.parameter_names = list(parameters)
        self.buffer_names = list(buffers)
        self.stacked = nn.ParameterList(
            nn.Parameter(parameters[name].detach()) for name in self.parameter_names
        )
        for index, name in enumerate(self.buffer_names):
            self.register_buffer(f"buffer_{index}", buffers[name])
        self.parameter_list = list(self.stacked)
        #: the architecture without storage: what functional_call runs with each member's tensors;
        #: kept out of the module tree, so .to() and the state dict see only the stacked tensors
        template = copy.deepcopy(members[0]).to("meta")
        self.calls = {
            "forward": MethodCall(template, "forward"),
            "log_likelihood": MethodCall(template, "log_likelihood"),
        }
        self.compiled: dict[str, Callable[..., Any]] = {}

    def train(self, mode: bool = True) -> VmappedMembers:
        super().train(mode)
        for call in self.calls.values():
            call.train(mode)
        return self

    def member_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {
            f"inner.{name}": value for name, value in zip(self.parameter_names, self.stacked, strict=True)
        }
        for index, name in enumerate(self.buffer_names):
            tensors[f"inner.{name}"] = getattr(self, f"buffer_{index}")
        return tensors

    def run(self, method: str, inputs: tuple[torch.Tensor, ...]) -> Any:
        if method in self.compiled:
            return self.compiled[method](self.member_tensors(), *inputs)
        return self.vmapped(method)(self.member_tensors(), *inputs)

    def vmapped(self, method: str) -> Callable[..., Any]:
        call = self.calls[method]

        def one_member(tensors: dict[str, torch.Tensor], *inputs: torch.Tensor) -> Any:
            return torch.func.functional_call(call, tensors, inputs)

        return torch.func.vmap(one_member)

    def compile_forward(self) -> None:
        self.compiled = {method: torch.compile(self.vmapped(method)) for method in self.calls}

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self.run("forward", inputs)

    def log_likelihood(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.run("log_likelihood", inputs)

    @property
    def likelihood(self) -> str:
        return self.calls["forward"].inner.likelihood

    def member_parameters(self) -> list[nn.Parameter]:
        return self.parameter_list

    def member_grad_norms(self) -> torch.Tensor:
        return stacked_grad_norms(self.parameter_list, self.size)

    @torch.no_grad()
    def write_member(self, member: int, into: nn.Module) -> None:
        """Copy member ``member``'s current weights and buffers into ``into`` (its own network)."""
        targets = into.state_dict()
        for name, stacked in self.member_tensors().items():
            target = targets[name.removeprefix("inner.")]
            target.copy_(stacked[member].reshape(target.shape))


def stack_members(modules: list[nn.Module]) -> SingleMember | StackedMembers | VmappedMembers:
    """One member module for the trials' networks ``modules`` (one per trial, same architecture):
    the network itself for one trial, stacked leaves where every module is batch-agnostic,
    vmapped otherwise."""
    if len(modules) == 1:
        return SingleMember(modules[0])
    if unstackable_part(modules[0]) is None:
        return StackedMembers(modules)
    return VmappedMembers(modules)


def stack_networks(members: list[GanParts | VaeParts]) -> GanParts | VaeParts:
    """The members' networks as one GanParts/VaeParts whose modules are member modules."""
    first = members[0]
    if isinstance(first, GanParts):
        discriminators = [parts.discriminator for parts in members]
        return GanParts(
            generator=stack_members([parts.generator for parts in members]),
            discriminator=None if discriminators[0] is None else stack_members(discriminators),
            latent_dim=first.latent_dim,
        )
    return VaeParts(
        encoder=stack_members([parts.encoder for parts in members]),
        decoder=stack_members([parts.decoder for parts in members]),
        latent_dim=first.latent_dim,
    )
