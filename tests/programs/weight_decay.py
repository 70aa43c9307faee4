"""Weight decay, as the textbook chapter shows it: a high-dimensional linear regression with
few examples, trained with an explicit L2 penalty (from scratch) and with the optimizer's
``weight_decay`` on the weight only (concise); the two must follow the same path."""


def build(torch):
    return {"net": torch.nn.Linear(50, 1)}


def l2_penalty(w):
    return (w ** 2).sum() / 2


def main(torch, source, models):
    n_train, num_inputs, lam, lr = 20, 50, 3.0, 0.005
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    X = source.randn(n_train, num_inputs)
    y = X @ true_w + true_b + 0.01 * source.randn(n_train, 1)
    net = models["net"]
    losses = []

    # from scratch: the same starting weights as the concise net
    w = net.weight.detach().clone().T.contiguous().requires_grad_(True)
    b = net.bias.detach().clone().requires_grad_(True)
    for epoch in range(6):
        l = ((X @ w + b - y) ** 2 / 2).mean() + lam * l2_penalty(w)
        l.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
        losses.append(l.item())
    scratch_w = w.detach().T

    # concise: weight_decay on the weight, none on the bias
    loss = torch.nn.MSELoss(reduction="none")
    trainer = torch.optim.SGD([{"params": net.weight, "weight_decay": lam},
                               {"params": net.bias}], lr=lr)
    for epoch in range(6):
        trainer.zero_grad()
        l = (loss(net(X), y) / 2).mean()
        l.backward()
        trainer.step()
        losses.append(l.item())
    return {"losses": losses,
            "values": {"paths_agree": bool(torch.allclose(scratch_w, net.weight, atol=1e-6)),
                       "w_norm": net.weight.norm().item()},
            "params": {"w": net.weight.detach().numpy()}}
