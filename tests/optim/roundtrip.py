"""A state_dict's trip through JSON and an .npz read with allow_pickle=False (no pickle anywhere)."""
from __future__ import annotations

import io
import json

import numpy as np


def without_pickle(sd: dict) -> dict:
    """Round-trip a state_dict through JSON (everything but arrays) and an .npz read with
    allow_pickle=False: proves the dict holds nothing that needs pickle."""
    arrays = {}

    def strip(obj, path):
        if isinstance(obj, np.ndarray):
            arrays[path] = obj
            return {"__array__": path}
        if isinstance(obj, dict):
            return {str(k): strip(v, f"{path}.{k}") for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [strip(v, f"{path}.{i}") for i, v in enumerate(obj)]
        assert obj is None or isinstance(obj, (bool, int, float, str)), (path, type(obj))
        return obj

    text = json.dumps(strip(sd, "sd"))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = {k: z[k] for k in z.files}

    def restore(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__array__"}:
                return loaded[obj["__array__"]]
            return {k: restore(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [restore(v) for v in obj]
        return obj

    return restore(json.loads(text))  # note: state keys come back as strings "0", "1", ...
