"""Dropout, as the textbook chapter shows it: from scratch (a mask of keep-probability 1-p,
kept units scaled by 1/(1-p), only while training) in an MLP trained for a few steps, then
concisely with ``nn.Dropout`` whose behaviour (fraction dropped, scaling, eval identity) is
checked statistically, since its masks come from each library's own generator."""


def dropout_layer(torch, source, X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = source.bernoulli(1 - dropout, *X.shape)
    return mask * X / (1.0 - dropout)


def _scratch_net(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self, num_inputs, num_outputs, h1, h2, d1, d2):
            super().__init__()
            self.lin1 = nn.Linear(num_inputs, h1)
            self.lin2 = nn.Linear(h1, h2)
            self.lin3 = nn.Linear(h2, num_outputs)
            self.relu = nn.ReLU()
            self.d1, self.d2 = d1, d2
            self.source = None

        def forward(self, X):
            H1 = self.relu(self.lin1(X))
            if self.training:
                H1 = dropout_layer(torch, self.source, H1, self.d1)
            H2 = self.relu(self.lin2(H1))
            if self.training:
                H2 = dropout_layer(torch, self.source, H2, self.d2)
            return self.lin3(H2)

    return Net(30, 5, 24, 16, 0.2, 0.5)


def _concise_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(30, 24), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(24, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 5))


def build(torch):
    return {"scratch": _scratch_net(torch), "concise": _concise_net(torch)}


def main(torch, source, models):
    F = torch.nn.functional
    X = source.randn(40, 30)
    y = source.randint(0, 5, (40,))
    values = {}
    t = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    values["p0"] = dropout_layer(torch, source, t, 0.0).tolist()
    values["p1"] = dropout_layer(torch, source, t, 1.0).tolist()
    values["p05"] = dropout_layer(torch, source, t, 0.5).tolist()

    net = models["scratch"]
    net.source = source
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for step in range(5):
        net.train()
        loss = F.cross_entropy(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        losses.append(F.cross_entropy(net(X), y).item())

    concise = models["concise"]
    concise.eval()
    with torch.no_grad():
        losses.append(F.cross_entropy(concise(X), y).item())       # eval: no dropout at all
    drop = torch.nn.Dropout(0.3)
    big = torch.ones(100, 100) * 2.0
    out = drop(big)
    kept = out != 0
    values["kept_scaled"] = bool(torch.allclose(out[kept], big[kept] / 0.7))
    drop.eval()
    values["eval_identity"] = bool(torch.equal(drop(big), big))
    values["functional_eval"] = bool(torch.equal(F.dropout(big, 0.5, training=False), big))
    concise.train()
    opt = torch.optim.SGD(concise.parameters(), lr=0.1)
    noisy = []
    for step in range(3):
        loss = F.cross_entropy(concise(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        noisy.append(loss.item())
    stats = {"dropped_fraction": (1 - kept.float().mean().item(), 0.03),
             "noisy_loss": (sum(noisy) / 3, 0.5)}
    return {"losses": losses, "values": values, "stats": stats}
