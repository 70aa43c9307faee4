"""Autograd tutorial: requires_grad, backward, gradients accumulating, no_grad, and the classic
hand-written training loop that updates weights through ``.data``."""


def build(torch):
    return {}


def main(torch, source, models):
    values = {}
    # gradients of a scalar function, and how they accumulate between backward calls
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    values["grad_fns"] = [t.grad_fn.name() for t in (y, z, out)]
    values["printed_grad_fn"] = str(z.grad_fn).split(" object")[0]       # '<MulBackward0'
    values["next_functions"] = [f.name() for f, _ in out.grad_fn.next_functions]
    values["leaf"] = [x.is_leaf, y.is_leaf, x.grad_fn is None]
    out.backward()
    values["first_grad"] = x.grad.flatten().tolist()
    (x * 2).sum().backward()
    values["accumulated"] = x.grad.flatten().tolist()
    x.grad.zero_()
    values["zeroed"] = x.grad.sum().item()
    with torch.no_grad():
        values["no_grad_requires"] = (x * 2).requires_grad
    values["detached_requires"] = x.detach().requires_grad

    # dtype and shape facts a tutorial prints
    t = torch.arange(6).reshape(2, 3)
    values["size"] = [isinstance(t.size(), torch.Size), t.shape == torch.Size([2, 3]),
                      t.size().numel(), list(t.shape), t.size(1)]
    values["dtypes"] = [str(t.dtype), str(t.float().dtype), str(t.type(torch.float64).dtype)]
    values["type_names"] = [t.type(), t.float().type()]
    rows = [float(r.sum()) for r in t.float()]          # for w in W: one row at a time
    values["rows"] = rows

    # scratch tensors initialised in place through .data
    scratch = torch.empty(2000)
    scratch.data.normal_(0, 0.01)
    stats = {"normal_mean": (float(scratch.mean()), 0.002),
             "normal_std": (float(scratch.std()), 0.002)}
    scratch.data.fill_(0)
    values["filled"] = float(scratch.abs().sum())

    # a two-parameter model fitted by hand: w, b updated through .data
    xs = source.randn(32, 3)
    true_w = torch.tensor([[1.5], [-2.0], [0.5]])
    ys = xs @ true_w + 0.3 + 0.01 * source.randn(32, 1)
    w = torch.zeros(3, 1, requires_grad=True)
    w.data.copy_(0.01 * source.randn(3, 1))
    b = torch.zeros(1, requires_grad=True)
    lr = 0.1
    losses, printed = [], []
    for step in range(8):
        loss = ((xs @ w + b - ys) ** 2).mean()
        loss.backward()
        if step % 2 == 0:
            w.data -= lr * w.grad
            b.data.add_(b.grad, alpha=-lr)
        else:
            w.data.add_(-lr * w.grad.data)
            b.data = b.data - lr * b.grad.data
        w.grad.zero_()
        b.grad.data.zero_()
        losses.append(loss.item())
        printed.append(f"step {step}: loss {format(loss, '.4f')}")
    values["printed"] = printed[:1]
    values["w_still_leaf"] = [w.is_leaf, w.requires_grad]
    return {"losses": losses, "values": values, "stats": stats,
            "params": {"w": w.detach().numpy(), "b": b.detach().numpy()}}
