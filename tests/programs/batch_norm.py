"""Batch normalisation, as the textbook chapter shows it: from scratch with tensor ops (batch
statistics while training, moving averages kept in buffers for eval, 2-D and 4-D inputs) in a
small LeNet, and concisely with ``nn.BatchNorm2d``/``nn.BatchNorm1d``; both trained a few steps
from the same weights must agree with each other and across libraries."""


def batch_norm(torch, X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        n = X.numel() / X.shape[1]
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var * n / (n - 1)
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


def _classes(torch):
    nn = torch.nn

    class BatchNorm(nn.Module):
        def __init__(self, num_features, num_dims):
            super().__init__()
            shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            self.register_buffer("moving_mean", torch.zeros(shape))
            self.register_buffer("moving_var", torch.ones(shape))

        def forward(self, X):
            Y, self.moving_mean, self.moving_var = batch_norm(
                torch, X, self.gamma, self.beta, self.moving_mean, self.moving_var,
                eps=1e-5, momentum=0.1)
            return Y

    def lenet(bn2d, bn1d):
        return nn.Sequential(
            nn.Conv2d(1, 3, kernel_size=5), bn2d(3), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.Linear(3 * 6 * 6, 12), bn1d(12), nn.Sigmoid(),
            nn.Linear(12, 4))

    return BatchNorm, lenet


def build(torch):
    BatchNorm, lenet = _classes(torch)
    scratch = lenet(lambda c: BatchNorm(c, 4), lambda c: BatchNorm(c, 2))
    concise = lenet(torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)
    return {"scratch": scratch, "concise": concise}


def main(torch, source, models):
    F = torch.nn.functional
    X = source.rand(24, 1, 16, 16)
    y = source.randint(0, 4, (24,))
    scratch, concise = models["scratch"], models["concise"]
    with torch.no_grad():  # the concise net starts from the scratch net's weights
        for i in (0, 5, 8):
            concise[i].weight.copy_(scratch[i].weight)
            concise[i].bias.copy_(scratch[i].bias)
    losses = []
    for net in (scratch, concise):
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        net.train()
        for step in range(4):
            for i in range(0, 24, 8):
                loss = F.cross_entropy(net(X[i:i + 8]), y[i:i + 8])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        net.eval()
        with torch.no_grad():
            losses.append(F.cross_entropy(net(X), y).item())
    bn = concise[1]
    values = {
        "running_mean_agree": bool(torch.allclose(scratch[1].moving_mean.reshape(-1),
                                                  bn.running_mean, atol=1e-5)),
        "running_var_agree": bool(torch.allclose(scratch[1].moving_var.reshape(-1),
                                                 bn.running_var, atol=1e-5)),
        "batches_tracked": int(bn.num_batches_tracked),
        "gamma_shape": list(scratch[1].gamma.shape),
        "buffers": sorted(name for name, _ in concise.named_buffers()),
    }
    return {"losses": losses, "values": values,
            "params": {"bn.running_var": bn.running_var.detach().numpy(),
                       "bn1d.weight": concise[6].weight.detach().numpy()}}
