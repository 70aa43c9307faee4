"""Linear regression twice, as a textbook chapter does it: from scratch (a data iterator that
shuffles, weights initialised in place, minibatch SGD under no_grad) and concisely (nn.Linear,
nn.MSELoss, optim.SGD, weights initialised with normal_/fill_ on .data)."""


def build(torch):
    return {"net": torch.nn.Sequential(torch.nn.Linear(2, 1))}


def synthetic_data(torch, source, w, b, n):
    X = source.randn(n, len(w))
    y = torch.matmul(X, w) + b
    y += 0.01 * source.randn(*y.shape)
    return X, y.reshape((-1, 1))


def data_iter(torch, source, batch_size, features, labels):
    n = len(features)
    indices = source.permutation(n)
    for i in range(0, n, batch_size):
        batch = torch.tensor(indices[i:min(i + batch_size, n)])
        yield features[batch], labels[batch]


def main(torch, source, models):
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    features, labels = synthetic_data(torch, source, true_w, true_b, 100)
    losses = []

    w = torch.zeros((2, 1), requires_grad=True)
    with torch.no_grad():
        w += 0.01 * source.randn(2, 1)
    b = torch.zeros(1, requires_grad=True)
    lr, batch_size = 0.03, 25
    for epoch in range(3):
        for X, y in data_iter(torch, source, batch_size, features, labels):
            loss = ((torch.matmul(X, w) + b - y.reshape(-1, 1)) ** 2 / 2).sum()
            loss.backward()
            with torch.no_grad():
                for param in [w, b]:
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()
        with torch.no_grad():
            losses.append(float(((torch.matmul(features, w) + b - labels) ** 2 / 2).mean()))

    net = models["net"]
    loss = torch.nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    dataset = torch.utils.data.TensorDataset(features, labels)
    order = source.permutation(100)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, order), batch_size=10)
    for epoch in range(2):
        for X, y in loader:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        losses.append(loss(net(features), labels).item())
    return {"losses": losses,
            "values": {"w_error": (true_w - net[0].weight.data.reshape(true_w.shape)).tolist(),
                       "b_error": true_b - net[0].bias.data.item()},
            "params": {"w": w.detach().numpy(), "b": b.detach().numpy(),
                       "net.w": net[0].weight.detach().numpy()}}
