"""cr.explain.trace: the notes' examples, the sum over paths, an MLP against hooks and torch,
live graphs, freed graphs, names."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.explain import examples, trace


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def test_circuit_values_and_deltas_in_the_trace_and_the_text():
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.tensor(4.0, requires_grad=True)
    with cr.autograd.record():
        f = x ** 2 * y + y + 2
        t = trace(f, names={"x": x, "y": y})
    assert float(t.output.value) == 42.0 and t.output.name == "f"
    assert float(t["x"].delta) == 24.0 and float(t["y"].delta) == 10.0
    assert float(t.output.delta) == 1.0
    assert t.of(x) is t["x"]
    text = str(t)
    forward, backward = text.split("backward pass")
    assert "= 42" in forward and "z2 = z1·y" in forward
    lines = {line.split("=")[0].strip(): line for line in backward.splitlines() if "=" in line}
    assert lines["δ_x"].rstrip().endswith("= 24")
    # y is used twice (in z1·y and in z2 + y): its δ is the sum of two terms
    assert lines["δ_y"].rstrip().endswith("(1·9) + (1·1) = 10")
    assert "δ_z2·z1 + δ_z3·1" in lines["δ_y"]
    # the backward pass runs from the output to the inputs
    order = [k for k in lines]
    assert order.index("δ_f") < order.index("δ_z1") < order.index("δ_x")


def test_trace_runs_backward_itself_without_touching_grad():
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.tensor(4.0, requires_grad=True)
    with cr.autograd.record():
        f = x ** 2 * y + y + 2
        t = trace(f, names={"x": x, "y": y})
    assert x.grad is None and y.grad is None
    f.backward()                               # the graph was retained
    assert float(x.grad) == 24.0 == float(t["x"].delta)


def test_neuron_delta_w3_is_minus_sigma_prime_times_x3():
    ex = examples.neuron()
    t = ex.trace
    x3, w3, x4, w4 = (float(t[n].value) for n in ("x3", "w3", "x4", "w4"))
    s = _sigmoid(w3 * x3 + w4 * x4)
    sigma_prime = s * (1 - s)
    assert float(t["w3"].delta) == pytest.approx(-sigma_prime * x3, rel=1e-6)
    assert float(t["net2"].delta) == pytest.approx(-sigma_prime, rel=1e-6)
    assert float(t["x1"].delta) == 1.0
    # the sigmoid's local derivative is its docstring's z(1 − z), in the node's names
    (edge,) = t.inputs_of("x2")
    assert edge.derivative == "x2(1 − x2)"
    assert float(edge.local) == pytest.approx(sigma_prime, rel=1e-6)


def test_multipath_delta_x3_is_one_minus_sigma_prime_w3():
    t = examples.multipath().trace
    x3, w3, x4, w4 = (float(t[n].value) for n in ("x3", "w3", "x4", "w4"))
    s = _sigmoid(w3 * x3 + w4 * x4)
    assert float(t["x3"].delta) == pytest.approx(1 - s * (1 - s) * w3, rel=1e-6)
    paths = t.consumers_of("x3")
    assert len(paths) == 2
    by_target = {e.target.name: float(e.product) for e in paths}
    assert by_target["x1"] == 1.0
    assert by_target["w3x3"] == pytest.approx(-s * (1 - s) * w3, rel=1e-6)
    line = next(l for l in str(t).splitlines() if l.strip().startswith("δ_x3"))
    assert "δ_x1·1 + δ_w3x3·w3" in line and "(1·1) + (" in line


def _mlp():
    cr.manual_seed(3)
    nn = cr.nn
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 6), nn.Sigmoid(),
                         nn.Linear(6, 3))


def test_mlp_trace_deltas_equal_hooks_and_torch():
    model = _mlp()
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 5)).astype(np.float32)
    ys = np.array([0, 2, 1, 2])
    hooked = {}

    def keep(name):
        def forward_hook(module, args, out):
            out.register_hook(lambda g: hooked.__setitem__(name, g._data.copy()))
        return forward_hook
    linears = [m for m in model if isinstance(m, cr.nn.Linear)]
    for i, m in enumerate(linears):
        m.register_forward_hook(keep(i))
    outputs = []
    linears[0].register_forward_hook(lambda m, a, o: outputs.append(o))
    linears[1].register_forward_hook(lambda m, a, o: outputs.append(o))
    linears[2].register_forward_hook(lambda m, a, o: outputs.append(o))
    with cr.autograd.record():
        loss = cr.nn.functional.cross_entropy(model(cr.tensor(xs)), cr.tensor(ys))
        loss.backward()
        t = trace(loss, names=model)
    for i, out in enumerate(outputs):
        np.testing.assert_allclose(t.of(out).delta, hooked[i], rtol=1e-6, atol=1e-8)
    # the leaves carry the model's parameter names and the engine's gradients ...
    for name, p in model.named_parameters():
        np.testing.assert_allclose(t[name].delta, p.grad._data, rtol=1e-6, atol=1e-8)
    # ... which are torch's
    tm = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 6),
                             torch.nn.Sigmoid(), torch.nn.Linear(6, 3))
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    torch.nn.functional.cross_entropy(tm(torch.tensor(xs)), torch.tensor(ys)).backward()
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(t[name].delta, p.grad.numpy(), rtol=1e-5, atol=1e-6)
    # every node's δ is the sum of what its edges send back
    for node in t.nodes:
        parts = [e.product for e in t.consumers_of(node)]
        if node.requires_grad and node is not t.output and parts:
            np.testing.assert_allclose(sum(parts), node.delta, rtol=1e-5, atol=1e-7)
    # the notes' names: the activation a_k and the net_k feeding it
    assert {"net1", "a1", "net2", "a2"} <= {n.name for n in t.nodes}


def test_replayed_edges_equal_the_live_nodes():
    """After a freeing backward, edges come from replaying the ops; before, from the nodes."""
    model = _mlp()
    x = cr.tensor(np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32))
    with cr.autograd.record():
        loss = (model(x) ** 2).mean()
        live = trace(loss, names=model)
        loss.backward()                        # frees the graph
        assert loss.grad_fn.saved is None
        replayed = trace(loss, names=model)
    assert len(live.edges) == len(replayed.edges)
    for a, b in zip(live.edges, replayed.edges):
        assert (a.source.name, a.target.name) == (b.source.name, b.target.name)
        np.testing.assert_array_equal(a.product, b.product)
        assert a.derivative == b.derivative


def test_a_live_graph_traces_without_recording():
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = (a * a).tanh().sum()
    t = trace(h, names={"a": a})
    expected = 2 * a._data * (1 - np.tanh(a._data ** 2) ** 2)
    np.testing.assert_allclose(t["a"].delta, expected, rtol=1e-5)
    assert len(t.consumers_of("a")) == 2      # a·a reads a twice
    h.backward()                              # still usable: trace kept the graph
    np.testing.assert_allclose(a.grad._data, expected, rtol=1e-5)


def test_a_freed_graph_says_to_record_or_retain_graph():
    a = cr.tensor(2.0, requires_grad=True)
    h = (a * a).sin()
    h.backward()
    with pytest.raises(RuntimeError, match=r"record\(\).*retain_graph=True"):
        trace(h)


def test_a_retained_graph_traces_after_backward():
    a = cr.tensor(2.0, requires_grad=True)
    h = (a * a).sin()
    h.backward(retain_graph=True)
    t = trace(h, names={"a": a})
    assert float(t["a"].delta) == pytest.approx(4 * math.cos(4.0), rel=1e-6)


def test_leaves_and_non_scalars_are_clear_errors():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="not produced by any recorded op"):
        trace(cr.tensor(1.0))
    alone = trace(cr.tensor(2.5, requires_grad=True))      # a leaf by itself: δ = 1
    assert len(alone) == 1 and float(alone.output.delta) == 1.0
    with pytest.raises(ValueError, match=r"shape \(2,\).*gradient="):
        trace(a * 3.0)
    t = trace(a * 3.0, gradient=np.array([1.0, -1.0], np.float32), names={"a": a})
    np.testing.assert_array_equal(t["a"].delta, [3.0, -3.0])
    with pytest.raises(TypeError, match="names"):
        trace(a * 3.0, names=["a"], gradient=np.ones(2, np.float32))


def test_recording_passed_after_the_block_and_constants_are_nodes():
    x = cr.tensor(1.5, requires_grad=True)
    with cr.autograd.record() as rec:
        f = 2.0 - x * x
        f.backward()
    t = trace(f, recording=rec, names={"x": x})
    assert float(t["x"].delta) == -3.0
    constants = [n for n in t.nodes if n.kind == "constant"]
    assert [n.name for n in constants] == ["2"]
    edge = t.inputs_of(t.output)
    assert [e.source.name for e in edge] == ["z1"] and edge[0].derivative == "−1"


def test_tensor_from_before_the_recording_gets_the_sum_of_its_edges():
    a = cr.tensor(0.5, requires_grad=True)
    b = a * 4.0                                # not recorded
    with cr.autograd.record():
        f = b * b + b
        t = trace(f, names={"b": b})
    assert t["b"].kind == "leaf"
    assert float(t["b"].delta) == pytest.approx(2 * 2.0 + 1)


def test_xor_example_matches_torch():
    t = examples.xor_net().trace
    W = {k: torch.tensor(np.array(v, np.float32), requires_grad=True)
         for k, v in examples.XOR_WEIGHTS.items()}
    x = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
    y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)
    a1 = torch.sigmoid(x @ W["W1"] + W["b1"])
    loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(a1 @ W["W2"] + W["b2"]), y)
    loss.backward()
    assert float(t["L"].value) == pytest.approx(loss.item(), rel=1e-6)
    for k, p in W.items():
        np.testing.assert_allclose(t[k].delta, p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_an_optimizer_step_after_the_forward_is_refused():
    w = cr.nn.Parameter(cr.tensor([1.0, -2.0]))
    x = cr.tensor([0.5, 3.0])
    opt = cr.optim.SGD([w], lr=0.1)
    with cr.autograd.record():
        loss = (w * x).sum()
        loss.backward()
        trace(loss)                            # fine before the step
        opt.step()
        with pytest.raises(RuntimeError, match=r"modified in place.*optimizer step"):
            trace(loss)


@pytest.mark.parametrize("update", ["data", "numpy"])
def test_a_change_outside_autograd_after_the_forward_is_refused(update):
    """``.data`` has no version counter of its own to share (PyTorch's rule), so an update
    ``w.data -= lr * w.grad.data`` passes the in-place stamps: the recording's copy of each
    leaf's value catches it."""
    w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    x = cr.tensor([[1.0], [1.0]])
    with cr.autograd.record() as rec:
        loss = (w @ x).sum()
        loss.backward()
    trace(loss, {"w": w}, recording=rec)      # fine before the change
    if update == "data":
        w.data -= 0.5 * w.grad.data
    else:
        w.numpy()[0, 0] = 9.0
    with pytest.raises(RuntimeError, match=r"leaf tensor of shape \(1, 2\) changed"):
        trace(loss, {"w": w}, recording=rec)


def test_equal_forms_show_the_one_in_node_names():
    a = cr.tensor(0.3, requires_grad=True)
    with cr.autograd.record():
        f = a.exp().sqrt()
        t = trace(f, names={"a": a})
    derivatives = [e.derivative for e in t.edges]
    assert derivatives == ["z1", "1/(2f)"]


def test_a_conv_net_replays_with_its_parameters():
    """conv, batch norm, max pool, dropout and reshape replay from their recorded parameters
    (dropout's mask is a recorded constant) and give the live nodes' numbers."""
    nn = cr.nn
    cr.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(8, 3))
    model.train()
    x = cr.randn(2, 1, 4, 4)
    with cr.autograd.record():
        loss = cr.nn.functional.cross_entropy(model(x), cr.tensor([0, 2]))
        live = trace(loss, names=model)
        loss.backward()
        replayed = trace(loss, names=model)
    for a, b in zip(live.edges, replayed.edges):
        np.testing.assert_array_equal(a.product, b.product)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(replayed[name].delta, p.grad._data, rtol=1e-6, atol=1e-9)
    text = str(replayed)
    assert "conv(x1, 0.weight, 0.bias)" in text and "reshaped back" in text
    assert "placed at each window's (first) maximum" in text


def test_an_optimizer_step_is_refused_even_for_ops_that_saved_nothing():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.5)
    with cr.autograd.record() as rec:
        loss = (w + 1.0).sum()                 # add and sum save nothing for backward
        loss.backward()
    trace(loss, recording=rec)
    opt.step()
    with pytest.raises(RuntimeError, match=r"modified in place.*optimizer step"):
        trace(loss, recording=rec)


def test_traces_keep_the_recordings_deltas_and_can_repeat():
    x = cr.tensor(2.0, requires_grad=True)
    with cr.autograd.record() as rec:
        l1 = (x * 2.0).sum()
        l2 = (x * 3.0).sum()
        l1.backward()
        assert float(trace(l1).leaves[0].delta) == 2.0
        assert float(trace(l2).leaves[0].delta) == 3.0     # its own backward, stored apart
        assert float(trace(l1).leaves[0].delta) == 2.0     # once a GraphFreedError
        assert float(rec.delta(x)) == 2.0 and rec.backward_count == 1
    assert float(x.grad._data) == 2.0


def test_trace_after_the_block_finds_the_recording():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(3.0, requires_grad=True)
    with cr.autograd.record() as rec:          # the README's pattern
        f = x * y + x
        f.backward()
    t = trace(f, names={"x": x, "y": y})
    assert float(t["x"].delta) == 4.0 and float(t["y"].delta) == 2.0
    with cr.autograd.record() as rec:          # backward after the block, outside it
        g = (x * y).sin()
    g.backward()
    t = trace(g, names={"x": x, "y": y})
    torch_x = torch.tensor(2.0, requires_grad=True)
    torch_y = torch.tensor(3.0, requires_grad=True)
    (torch_x * torch_y).sin().backward()
    assert float(t["x"].delta) == pytest.approx(torch_x.grad.item(), rel=1e-5)
    assert float(t["y"].delta) == pytest.approx(torch_y.grad.item(), rel=1e-5)
    assert rec.delta(x) is None                # the recording itself is not changed
