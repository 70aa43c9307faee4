"""Leaf hooks see a leaf's whole gradient (PyTorch is the oracle): a leaf that is a root and
also reached through the graph, a hook registered during backward, ``autograd.grad`` leaving
other leaves' hooks alone; and the hook count going back to zero when hooked tensors are freed."""
import gc

import numpy as np
import torch

import chainrule as cr
from chainrule.autograd.hooks import leaf_hook_count


def _root_and_inner(lib):
    x = lib.ones(3, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(("pre", g.tolist())))
    x.register_post_accumulate_grad_hook(lambda p: calls.append(("post", p.grad.tolist())))
    lib.autograd.backward([x, x * 3], [lib.ones(3), lib.ones(3)])
    return calls


def test_a_leaf_that_is_a_root_and_reached_through_the_graph_fires_once_on_the_total():
    assert _root_and_inner(cr) == _root_and_inner(torch) == [("pre", [4.0] * 3),
                                                             ("post", [4.0] * 3)]


def _registered_mid_backward(lib):
    a, b, ev = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True), []

    def on_a(p):
        ev.append("a")
        b.register_hook(lambda g: ev.append(("b-pre", np.round(g.tolist(), 10).tolist())))
        b.register_post_accumulate_grad_hook(
            lambda p: ev.append(("b-post", np.round(p.grad.tolist(), 10).tolist())))
    a.register_post_accumulate_grad_hook(on_a)
    ((b * 2).tanh() * a).sum().add((b * 5).sum()).backward()
    return ev


def test_a_hook_registered_during_backward_sees_the_whole_gradient():
    got, want = _registered_mid_backward(cr), _registered_mid_backward(torch)
    assert got == want
    assert want[1][1][0] > 5


def _grad_of_one_input(lib):
    u, v, ev = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True), []
    u.register_hook(lambda g: (ev.append("u-pre"), g * 10)[1])
    v.register_hook(lambda g: ev.append("v-pre"))
    v.register_post_accumulate_grad_hook(lambda p: ev.append("v-post"))
    (gu,) = lib.autograd.grad((u * v * 3).sum(), [u])
    return ev, gu.tolist(), v.grad


def test_autograd_grad_runs_only_its_inputs_hooks():
    got, want = _grad_of_one_input(cr), _grad_of_one_input(torch)
    assert got == want == (["u-pre"], [30.0, 30.0], None)


def test_freeing_a_hooked_leaf_takes_its_hooks_out_of_the_count():
    gc.collect()
    before = leaf_hook_count[0]
    w = cr.ones(2, requires_grad=True)
    h = w.register_hook(lambda g: None)
    w.register_post_accumulate_grad_hook(lambda p: None)
    assert leaf_hook_count[0] == before + 2
    del w
    gc.collect()
    assert leaf_hook_count[0] == before
    h.remove()                      # after its tensor is gone: no second decrement
    assert leaf_hook_count[0] == before
    w = cr.ones(2, requires_grad=True)
    w.register_hook(lambda g: None).remove()
    assert leaf_hook_count[0] == before
