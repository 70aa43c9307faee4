"""torch.utils.data as tutorials use it: a map-style Dataset subclass with a transform,
TensorDataset, random_split and Subset, a custom Sampler, and DataLoader with batch_size,
drop_last, num_workers=0 and pin_memory=False feeding a small training loop."""


def _classes(torch):
    data = torch.utils.data

    class Squares(data.Dataset):
        """Points x in R^4 with target sum(x^2), optionally transformed."""

        def __init__(self, X, transform=None):
            self.X = X
            self.transform = transform

        def __len__(self):
            return len(self.X)

        def __getitem__(self, idx):
            x = self.X[idx]
            if self.transform is not None:
                x = self.transform(x)
            return x, (x ** 2).sum(0, keepdim=True)

    class OrderSampler(data.Sampler):
        def __init__(self, order):
            self.order = order

        def __iter__(self):
            return iter(self.order)

        def __len__(self):
            return len(self.order)

    return Squares, OrderSampler


def build(torch):
    nn = torch.nn
    return {"model": nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))}


def main(torch, source, models):
    data = torch.utils.data
    Squares, OrderSampler = _classes(torch)
    dataset = Squares(source.randn(50, 4), transform=lambda x: x * 0.5)
    values = {"len": len(dataset), "item_shapes": [list(t.shape) for t in dataset[3]]}

    train_part, val_part = data.random_split(dataset, [40, 10],
                                             generator=torch.Generator().manual_seed(0))
    both = sorted(list(train_part.indices) + list(val_part.indices))
    values["split"] = [len(train_part), len(val_part), both == list(range(50))]
    fractions = data.random_split(range(10), [0.7, 0.3])
    values["fraction_split"] = [len(p) for p in fractions]

    order = source.permutation(50)
    train_set = data.Subset(dataset, order[:40])
    val_set = data.Subset(dataset, order[40:])
    loader = data.DataLoader(train_set, batch_size=12, drop_last=True, num_workers=0,
                             pin_memory=False, sampler=OrderSampler(source.permutation(40)))
    val_loader = data.DataLoader(val_set, batch_size=4, shuffle=False)
    values["batches"] = [len(loader), len(val_loader)]
    values["last_val_batch"] = [list(t.shape) for t in list(val_loader)[-1]]

    model = models["model"]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(2):
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            val = sum(torch.nn.functional.mse_loss(model(xb), yb, reduction="sum").item()
                      for xb, yb in val_loader)
        losses.append(val / len(val_set))

    features, targets = next(iter(data.DataLoader(train_set, batch_size=40)))
    tensors = data.TensorDataset(features, targets)
    x0, y0 = tensors[0]
    values["tensor_dataset"] = [len(tensors), list(x0.shape), list(y0.shape),
                                bool(torch.equal(x0, features[0]))]
    shuffled = data.DataLoader(tensors, batch_size=8, shuffle=True)
    seen = torch.cat([xb for xb, _ in shuffled])
    values["shuffle_covers"] = bool(torch.allclose(seen.sum(0), features.sum(0), atol=1e-5))
    return {"losses": losses, "values": values}
