"""Learning-rate schedules in a training loop: OneCycleLR stepped every batch, LambdaLR with a
warm-up lambda stepped every epoch, and an SGD optimizer with momentum; the learning rates seen
and the losses are compared."""


def build(torch):
    nn = torch.nn
    return {"a": nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)),
            "b": nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))}


def main(torch, source, models):
    F = torch.nn.functional
    X = source.randn(32, 5)
    y = source.randint(0, 2, (32,))
    losses, lrs = [], []

    model = models["a"]
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    epochs, steps = 3, 4
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=epochs,
                                                steps_per_epoch=steps)
    for epoch in range(epochs):
        for i in range(steps):
            loss = F.cross_entropy(model(X[i * 8:(i + 1) * 8]), y[i * 8:(i + 1) * 8])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            lrs.append(opt.param_groups[0]["lr"])

    model = models["b"]
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    warmup = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda e: min(1.0, (e + 1) / 3))
    for epoch in range(5):
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        warmup.step()
        losses.append(loss.item())
        lrs.append(warmup.get_last_lr()[0])
    return {"losses": losses, "values": {"lrs": lrs}}
