"""Backprop by hand: a 2-layer tanh MLP with a cross-entropy loss whose gradients are derived on
paper, compared with autograd's (max |difference| and allclose), then used for SGD steps.
Data are a meshgrid of points; a Generator drives a multinomial sampler at the end."""


def cmp(torch, name, dt, t):
    exact = bool(torch.all(dt == t.grad).item())
    approx = torch.allclose(dt, t.grad, rtol=1e-5, atol=1e-6)
    maxdiff = (dt - t.grad).abs().max().item()
    return name, exact, approx, maxdiff


def build(torch):
    return {}


def main(torch, source, models):
    F = torch.nn.functional
    xs = torch.linspace(-1, 1, 6)
    gx, gy = torch.meshgrid(xs, xs, indexing="ij")
    X = torch.stack([gx.flatten(), gy.flatten()], dim=1)                   # (36, 2)
    Y = ((gx.flatten() * gy.flatten() > 0).long() + (gx.flatten() > 0.5).long())  # 3 classes
    n, n_hidden, n_classes = X.shape[0], 10, 3

    W1 = (source.randn(2, n_hidden) * 0.5).requires_grad_()
    b1 = (source.randn(n_hidden) * 0.1).requires_grad_()
    W2 = (source.randn(n_hidden, n_classes) * 0.1).requires_grad_()
    b2 = torch.zeros(n_classes, requires_grad=True)
    parameters = [W1, b1, W2, b2]
    values = {"nelement": sum(p.nelement() for p in parameters), "comparisons": []}
    losses = []
    for step in range(6):
        hpre = X @ W1 + b1
        h = torch.tanh(hpre)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Y)
        for p in parameters:
            p.grad = None
        loss.backward()

        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Y] -= 1
        dlogits /= n
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dh = dlogits @ W2.T
        dhpre = (1.0 - h ** 2) * dh
        dW1 = X.T @ dhpre
        db1 = dhpre.sum(0)
        if step == 0:
            for name, d, p in [("W1", dW1, W1), ("b1", db1, b1), ("W2", dW2, W2),
                               ("b2", db2, b2)]:
                _, _, approx, maxdiff = cmp(torch, name, d, p)
                values["comparisons"].append([name, approx, maxdiff < 1e-6])
        with torch.no_grad():
            for p, d in zip(parameters, [dW1, db1, dW2, db2]):
                p += -1.0 * d
        losses.append(loss.item())

    # sampling class labels from the trained model's probabilities, as makemore does
    with torch.no_grad():
        probs = F.softmax(torch.tanh(X[:1] @ W1 + b1) @ W2 + b2, dim=1)[0]
    g = torch.Generator().manual_seed(2147483647)
    draws = torch.multinomial(probs, num_samples=4000, replacement=True, generator=g)
    g1 = torch.Generator().manual_seed(42)
    g2 = torch.Generator().manual_seed(42)
    values["generator_repeats"] = bool(torch.equal(torch.randn(5, generator=g1),
                                                   torch.randn(5, generator=g2)))
    values["draws"] = [list(draws.shape), str(draws.dtype)]
    stats = {f"freq{k}": ((draws == k).float().mean().item(), 0.04) for k in range(n_classes)}
    return {"losses": losses, "values": values, "stats": stats,
            "params": {"W1": W1.detach().numpy(), "W2": W2.detach().numpy()}}
