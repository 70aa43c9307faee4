"""The classic MNIST example, shrunk: two convolutions, max-pooling, two linear layers,
log_softmax + nll_loss, Adadelta with StepLR, a train loop and a test loop over DataLoaders.
(Its dropout layers are left out: dropout masks have their own program.)"""


def _net(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.fc1 = nn.Linear(8 * 12 * 12, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def build(torch):
    return {"model": _net(torch)}


def train(torch, model, device, loader, optimizer, losses):
    F = torch.nn.functional
    model.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def test(torch, model, device, loader):
    F = torch.nn.functional
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data.to(device))
            total += F.nll_loss(output, target.to(device), reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return total / len(loader.dataset), correct


def main(torch, source, models):
    from_data = torch.utils.data
    device = torch.device("cpu")
    images, labels = source.mnist(80)
    images = (images - 0.1307) / 0.3081
    train_set = from_data.TensorDataset(images[:64], labels[:64])
    test_set = from_data.TensorDataset(images[64:], labels[64:])
    train_loader = from_data.DataLoader(train_set, batch_size=16)
    test_loader = from_data.DataLoader(test_set, batch_size=8)
    model = models["model"].to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests, lrs = [], [], []
    for epoch in range(1, 3):
        train(torch, model, device, train_loader, optimizer, losses)
        tests.append(test(torch, model, device, test_loader))
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    path = source.path("mnist_cnn.pt")
    torch.save(model.state_dict(), path)
    restored = _net(torch)
    restored.load_state_dict(torch.load(path, weights_only=True, map_location=device))
    tests.append(test(torch, restored.to(device), device, test_loader))
    return {"losses": losses + [t[0] for t in tests],
            "values": {"correct": [t[1] for t in tests], "lrs": lrs},
            "params": {"fc2.weight": model.fc2.weight.detach().numpy()}}
