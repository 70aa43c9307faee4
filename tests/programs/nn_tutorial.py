"""nn tutorial: an ``nn.Module`` subclass trained with ``optim.SGD`` (momentum), ``zero_grad``,
cross-entropy, an accuracy helper, and iterating over the weight matrix row by row."""


def _net(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Mnist2Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(20, 16)
            self.out = nn.Linear(16, 4)

        def forward(self, x):
            return self.out(F.relu(self.hidden(x)))

    return Mnist2Layer()


def build(torch):
    return {"model": _net(torch)}


def accuracy(torch, logits, target):
    return (torch.argmax(logits, dim=1) == target).float().mean()


def main(torch, source, models):
    model = models["model"]
    x = source.randn(64, 20)
    y = source.randint(0, 4, (64,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_func = torch.nn.functional.cross_entropy
    losses, accs = [], []
    bs = 16
    for epoch in range(2):
        for i in range((64 - 1) // bs + 1):
            xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
            loss = loss_func(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        with torch.no_grad():
            accs.append(accuracy(torch, model(x), y).item())
    with torch.no_grad():
        norms = [float(w.norm()) for w in model.hidden.weight]
    names = [name for name, _ in model.named_parameters()]
    return {"losses": losses,
            "values": {"acc": accs, "row_norms": norms, "names": names,
                       "n_params": sum(p.numel() for p in model.parameters()),
                       "grad_cleared": all(p.grad is None or float(p.grad.abs().sum()) == 0
                                           for p in model.parameters())},
            "params": {k: v.detach().numpy() for k, v in model.state_dict().items()}}
