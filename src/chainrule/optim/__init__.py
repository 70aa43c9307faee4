"""``chainrule.optim``: optimizers and learning-rate schedules (issues #4, #5)."""
