"""Device-agnostic code as tutorials write it: pick ``cuda``/an accelerator when there is one
and the CPU otherwise, move the model and every batch with ``.to(device)``, create tensors
with ``device=``, and bring results back with ``.cpu()`` before turning them into numbers."""


def pick_device(torch):
    if torch.cuda.is_available():
        return torch.device("cuda")
    acc = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    return acc if acc is not None else torch.device("cpu")


def build(torch):
    nn = torch.nn
    return {"model": nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))}


def main(torch, source, models):
    device = pick_device(torch)
    values = {"device": str(device), "type": device.type,
              "cuda": torch.cuda.is_available(), "device_count": torch.cuda.device_count(),
              "accelerator": torch.accelerator.is_available()}
    model = models["model"].to(device)
    values["param_device"] = str(next(model.parameters()).device)
    X = source.randn(20, 6)
    y = source.randn(20, 1)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    losses = []
    for step in range(5):
        xb, yb = X.to(device), y.to(device, non_blocking=True)
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.cpu().item())
    scale = torch.full((1,), 2.0, device=device)
    offset = torch.zeros(1, device=device) + torch.ones(1, device=device)
    with torch.no_grad():
        pred = (model(X.to(device)) * scale + offset).cpu()
    values["pred_device"] = str(pred.device)
    values["same_device"] = pred.device == torch.device("cpu")
    values["eye_device"] = str(torch.eye(2, device=device).device)
    torch.set_default_device(device)
    try:
        values["default_device"] = str(torch.zeros(2).device)
    finally:
        torch.set_default_device(None)
    return {"losses": losses, "values": values,
            "params": {"pred": pred.numpy()}}
