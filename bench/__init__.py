"""Benchmarks of chainrule against PyTorch (not tests: nothing here asserts a time).

Each script runs chainrule and the equivalent PyTorch code the same way, in fresh processes,
alternating the two, and prints a table plus one JSON line per case; results and the exact
commands are recorded in bench/RESULTS.md.
"""
