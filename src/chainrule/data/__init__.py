"""``chainrule.data``: datasets, loaders, transforms (issue #6)."""
