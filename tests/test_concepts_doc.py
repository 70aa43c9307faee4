"""docs/concepts.md names real things: every backticked chainrule name resolves, every file path
exists (and a ``path::test_name`` names a test defined in that file), every ``--flag`` is an
option of ``chainrule train``; and each concept the brief lists has its section."""
from __future__ import annotations

import importlib
import re

import pytest

from chainrule.cli.args import TRAIN_OPTIONS

from .conftest import REPO

DOC = REPO / "docs" / "concepts.md"
SPANS = re.findall(r"`([^`\n]+)`", DOC.read_text(encoding="utf-8"))
NAMES = sorted({s for s in SPANS if re.fullmatch(r"(chainrule|cr)(\.\w+)+", s)})
PATHS = sorted({s for s in SPANS if re.fullmatch(r"(src|tests|examples|docs)/[\w./-]+(::\w+)?", s)})
FLAGS = sorted({s.split()[0] for s in SPANS if s.startswith("--")})


def resolve(dotted: str):
    """The object ``chainrule.a.b.c`` names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    parts[0] = "chainrule"
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)  # AttributeError: the doc names something that is not there
        return obj
    raise ImportError(dotted)


def test_the_doc_cites_names_paths_and_flags():
    assert len(NAMES) >= 30 and len(PATHS) >= 15 and len(FLAGS) >= 10, (NAMES, PATHS, FLAGS)


@pytest.mark.parametrize("name", NAMES)
def test_every_cited_name_exists(name):
    assert resolve(name) is not None


@pytest.mark.parametrize("path", PATHS)
def test_every_cited_file_exists(path):
    file, _, test = path.partition("::")
    assert (REPO / file).is_file(), file
    if test:
        assert re.search(rf"^def {test}\(", (REPO / file).read_text(encoding="utf-8"), re.M), path


def test_every_cited_flag_is_a_train_option():
    known = {o.flag for o in TRAIN_OPTIONS} | {"--data-dir", "--out", "--resume", "--config"}
    known |= {"--no-" + o.flag[2:] for o in TRAIN_OPTIONS if o.parse is None}  # on/off switches
    assert [f for f in FLAGS if f not in known] == []


@pytest.mark.parametrize("concept", [
    "chain rule", "forward and backward", "δ", "minibatch", "evaluation metrics",
    "error rate", "overfitting", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
    "adamw", "nadam", "l-bfgs", "newton-cg", "xavier", "kaiming", "batch normalisation",
    "gradient clipping", "skip connections", "dropout", "weight decay", "l1 and l2",
    "early stopping", "pruning", "second-order"])
def test_each_concept_is_explained(concept):
    assert concept in DOC.read_text(encoding="utf-8").lower()


def test_the_readme_points_to_the_concepts_page():
    """The README used to cite "the notes", which are not in the repository: each mention now
    goes with the page that explains them."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/concepts.md)" in readme
    for paragraph in readme.split("\n\n"):
        if "notes" in paragraph:
            assert "docs/concepts.md" in paragraph, paragraph
