"""Custom autograd Functions in PyTorch's extension style: a linear function saving its inputs,
honouring ``ctx.needs_input_grad``; a sorting function whose index output is marked
non-differentiable; both checked with ``torch.autograd.gradcheck`` and used in training."""


def _functions(torch):
    class LinearFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class SortRows(torch.autograd.Function):
        """Sorted values of each row and the permutation (an integer, non-differentiable)."""

        @staticmethod
        def forward(ctx, x):
            values, idx = torch.sort(x, dim=1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def backward(ctx, grad_values, grad_idx):
            (idx,) = ctx.saved_tensors
            grad = torch.zeros_like(grad_values)
            return grad.scatter(1, idx, grad_values)

    class MulConstant(torch.autograd.Function):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    return LinearFunction, SortRows, MulConstant


def build(torch):
    return {"weight": torch.nn.Linear(5, 3)}


def main(torch, source, models):
    LinearFunction, SortRows, MulConstant = _functions(torch)
    values = {}
    inputs = (source.randn(4, 5).double().requires_grad_(),
              source.randn(3, 5).double().requires_grad_(),
              source.randn(3).double().requires_grad_())
    values["gradcheck_linear"] = bool(torch.autograd.gradcheck(
        LinearFunction.apply, inputs, eps=1e-6, atol=1e-4))
    xs = (source.randn(3, 6).double().requires_grad_(),)
    values["gradcheck_sort"] = bool(torch.autograd.gradcheck(
        lambda x: SortRows.apply(x)[0], xs, eps=1e-6, atol=1e-4))

    x = source.randn(2, 5).requires_grad_()
    values_, idx = SortRows.apply(x)
    values["idx_requires_grad"] = idx.requires_grad
    values["values_requires_grad"] = values_.requires_grad
    values["idx_dtype"] = str(idx.dtype)

    frozen = source.randn(4, 5)  # no grad: needs_input_grad[0] is False
    layer = models["weight"]
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    target = source.randn(4, 3)
    losses = []
    for step in range(5):
        out = LinearFunction.apply(frozen, layer.weight, layer.bias)
        out = MulConstant.apply(out, 0.5)
        top, _ = SortRows.apply(out)
        loss = ((top - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    values["frozen_grad"] = frozen.grad is None
    return {"losses": losses, "values": values,
            "params": {k: v.detach().numpy() for k, v in layer.state_dict().items()}}
