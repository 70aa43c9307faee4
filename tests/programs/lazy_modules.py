"""Lazy modules: a network written without input sizes (LazyConv2d, LazyBatchNorm2d,
LazyLinear, LazyBatchNorm1d), its optimizer built before the first forward, the parameters
materialised by a dry run and then set from the harness's numbers, and a few training steps."""


def build(torch):
    return {}


def _net(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.LazyConv2d(4, kernel_size=3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.LazyLinear(16), nn.LazyBatchNorm1d(), nn.ReLU(), nn.LazyLinear(3))


def main(torch, source, models):
    F = torch.nn.functional
    net = _net(torch)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)     # before any shapes are known
    X = source.randn(16, 2, 8, 8)
    y = source.randint(0, 3, (16,))
    net(X[:2])                                            # the dry run materialises
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.copy_(source.randn(*p.shape) * 0.2)
            elif name.endswith("bias"):
                p.copy_(source.randn(*p.shape) * 0.05)
    net.apply(lambda m: m.reset_running_stats() if hasattr(m, "reset_running_stats") else None)
    shapes = {name: list(p.shape) for name, p in net.state_dict().items()}
    losses = []
    for step in range(5):
        loss = F.cross_entropy(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses,
            "values": {"shapes": sorted(shapes.items()),
                       "optimizer_has_all": sum(len(g["params"]) for g in opt.param_groups)
                       == len(list(net.parameters())),
                       "kinds": [type(m).__name__ for m in net]},
            "params": {"last": net[8].weight.detach().numpy()}}
