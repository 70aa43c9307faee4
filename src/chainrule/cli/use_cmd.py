"""``chainrule evaluate`` and ``chainrule predict``: use a trained model from its checkpoint."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .checkpoints import dataset_of, load_data_for, load_model
from .device import resolve_device
from .errors import CLIError, phase

__all__ = ["run_evaluate", "run_predict", "ACCEPTED"]

ACCEPTED = ("predict reads one format: a .npy file (numpy.save) holding a numeric array, one "
            "item or a batch [N, ...]; convert text or other files to it first (pickled or "
            "object data is never loaded)")


def run_evaluate(args) -> int:
    from .. import nn
    from ..data import DataLoader
    from ..train import evaluate

    device = resolve_device(getattr(args, "device", None))
    model, run = load_model(args.checkpoint)
    model.to(device)                   # evaluate moves each batch to the model's device
    run = run or {}
    name = dataset_of(args.checkpoint, run, args.dataset)
    val_split = run.get("val_split", 0) if name == run.get("dataset") else 0
    if args.split == "val" and not val_split:
        raise CLIError(f"--split val: no validation set was held out of {name} for this model "
                       "(it was trained with --val-split 0, or on another dataset)")
    data = load_data_for(args.checkpoint, model, run, name, bool(args.dataset), args.data_dir,
                         val_split)
    split = {"train": data.train, "val": data.val, "test": data.test}[args.split]
    if data.num_classes > model.config["num_classes"]:
        raise CLIError(f"the model predicts {model.config['num_classes']} classes but {name} "
                       f"has {data.num_classes}")
    with phase(f"evaluating on {name} {args.split}", "--batch-size"):
        result = evaluate(model, DataLoader(split, batch_size=args.batch_size),
                          nn.CrossEntropyLoss())
    result = {"dataset": name, "split": args.split, **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{name} {args.split} ({result['samples']} items): loss {result['loss']:.4f}  "
              f"accuracy {100 * result['accuracy']:.2f}%  error rate "
              f"{100 * result['error_rate']:.2f}%")
    return 0


def _read_inputs(path: str, shape: list[int]) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"no input file {path!r}")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError:
        # NumPy's own message suggests enabling its pickle loader, i.e. running code from
        # the file: never pass that on.
        raise CLIError(f"{path} is not a NumPy .npy array of numbers; {ACCEPTED}") from None
    except OSError as exc:
        why = exc.strerror or "not a .npy file"  # never NumPy's pickle advice
        raise CLIError(f"cannot read {path} ({why}); {ACCEPTED}") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise CLIError(f"{path} is an .npz archive; {ACCEPTED}")
    if arr.dtype.kind not in "iuf":
        raise CLIError(f"{path} holds {np.dtype(arr.dtype).name} values; expected numbers")
    if list(arr.shape) == shape:
        arr = arr[None]
    elif list(arr.shape[1:]) != shape:
        raise CLIError(f"{path} has shape {list(arr.shape)}; the model takes items of shape "
                       f"{shape} (one item, or a batch of shape [N, {', '.join(map(str, shape))}])")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)  # as the datasets' ToFloat()
    from ..data.checks import DataError, cast_checked, check_finite
    try:
        check_finite(arr, path)                  # NaN or ±inf in the file itself
        return cast_checked(arr, np.float32, path)   # a finite value float32 cannot hold
    except DataError as exc:
        raise CLIError(str(exc)) from None


def run_predict(args) -> int:
    import chainrule as cr
    from ..io import write_bytes, write_text
    from ..nn.functional import softmax

    device = resolve_device(getattr(args, "device", None))
    model, _ = load_model(args.checkpoint)
    model.to(device)
    x = _read_inputs(args.inputs, list(model.config["input_shape"]))
    outputs = []
    with cr.no_grad(), phase(f"predicting {len(x)} items", "--batch-size"):
        for i in range(0, len(x), args.batch_size):
            logits = model(cr.tensor(x[i:i + args.batch_size], device=device)).cpu()
            outputs.append(softmax(logits, dim=1).numpy() if args.probabilities
                           else logits.argmax(dim=1).numpy().astype(np.int64))
    result = np.concatenate(outputs) if outputs else np.zeros((0,), np.int64)
    if args.probabilities:
        lines = [" ".join(f"{p:.6f}" for p in row) for row in result]
    else:
        lines = [str(int(c)) for c in result]
    if args.output is not None:
        out = Path(args.output)
        if out.suffix == ".npy":
            buf = io.BytesIO()
            np.save(buf, result, allow_pickle=False)
            write_bytes(out, buf.getvalue())
        else:
            write_text(out, "\n".join(lines) + "\n")
    if not args.quiet:
        print("\n".join(lines))
    return 0
