"""An MLP on scikit-learn's 8×8 digits with the library API — what ``chainrule train`` does,
written out: data, model, loss, optimizer, the training loop with its per-epoch evaluation,
the learning curves and a checkpoint that rebuilds the model.

Run:  python examples/mlp_digits.py          (needs the extras: pip install -e '.[io,viz,data]')
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.data import DataLoader, datasets
from chainrule.train import EarlyStopping, evaluate, fit, plot_history, read_checkpoint


def main(epochs: int = 30, out: str | None = None, seed: int = 0) -> float:
    cr.manual_seed(seed)                                   # one seed: init, shuffling, dropout
    train, val, test = datasets.digits(validation=0.1)    # 1,293 / 144 / 360 images, 8×8
    train_loader = DataLoader(train, batch_size=32, shuffle=True)
    val_loader = DataLoader(val, batch_size=500)
    test_loader = DataLoader(test, batch_size=500)

    # The same as nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2),
    # nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)), plus a config.
    model = models.build_model(models.model_config("mlp", [8, 8], 10, hidden=[256, 128],
                                                   dropout=0.2))
    loss_fn = nn.CrossEntropyLoss()                        # softmax + negative log-likelihood
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    history = fit(model, loss_fn, optimizer, train_loader, epochs=epochs,
                  val_loader=val_loader, test_loader=test_loader,
                  callbacks=[EarlyStopping("val_loss", patience=10)])
    last = history[-1]
    print(f"{len(history)} epochs: train error {100 * last['train_error_rate']:.2f}%, "
          f"validation error {100 * last['val_error_rate']:.2f}%, "
          f"test error {100 * last['test_error_rate']:.2f}%")

    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="mlp_digits_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        figures = plot_history(history, folder / "curves")   # curves.png and curves.svg
        print("learning curves:", ", ".join(str(f) for f in figures))
    except ImportError as exc:                               # matplotlib is optional
        print(f"(no figure: {exc})", file=sys.stderr)

    # A checkpoint with the model's configuration rebuilds the model from the file alone.
    ckpt_path = folder / "model.safetensors"
    cr.train.save_checkpoint(ckpt_path, model, optimizer, history=history,
                             config=model.config)
    ckpt = read_checkpoint(ckpt_path)
    rebuilt = models.build_model(ckpt.config)
    rebuilt.load_state_dict(ckpt.model_state)
    result = evaluate(rebuilt, test_loader, loss_fn)
    print(f"rebuilt from {ckpt_path}: test accuracy {100 * result['accuracy']:.2f}% "
          f"(loss {result['loss']:.4f})")
    return result["accuracy"]


if __name__ == "__main__":
    main()
