"""The variational autoencoder example, shrunk: an encoder to (mu, logvar), the
reparameterisation trick with noise from the harness, a sigmoid decoder, and the loss
binary cross-entropy (summed) + KL divergence, trained with Adam."""


def _vae(torch):
    nn = torch.nn
    F = torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 40)
            self.fc21 = nn.Linear(40, 8)
            self.fc22 = nn.Linear(40, 8)
            self.fc3 = nn.Linear(8, 40)
            self.fc4 = nn.Linear(40, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps):
            std = torch.exp(0.5 * logvar)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x, eps):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar, eps)
            return self.decode(z), mu, logvar

    return VAE()


def build(torch):
    return {"model": _vae(torch)}


def loss_function(torch, recon_x, x, mu, logvar):
    bce = torch.nn.functional.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main(torch, source, models):
    model = models["model"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, _ = source.mnist(48)
    losses = []
    model.train()
    for epoch in range(2):
        for i in range(3):
            data = images[i * 16:(i + 1) * 16]
            optimizer.zero_grad()
            eps = source.randn(16, 8)
            recon, mu, logvar = model(data, eps)
            loss = loss_function(torch, recon, data, mu, logvar)
            loss.backward()
            optimizer.step()
            losses.append(loss.item() / len(data))
    model.eval()
    with torch.inference_mode():
        sample = model.decode(source.randn(4, 8))
    return {"losses": losses, "values": {"sample_mean": sample.mean().item(),
                                         "sample_shape": list(sample.shape)}}
