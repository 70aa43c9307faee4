"""The optimizer variants the suite compares with torch.optim: (id, class name, kwargs)."""
from __future__ import annotations

CONFIGS = [
    ("sgd", "SGD", dict(lr=0.1)),
    ("sgd_momentum", "SGD", dict(lr=0.05, momentum=0.9)),
    ("sgd_nesterov", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd_dampening", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    ("adagrad_decay_init", "Adagrad", dict(lr=0.1, lr_decay=0.01,
                                           initial_accumulator_value=0.1)),
    ("adadelta", "Adadelta", dict()),
    ("adadelta_rho", "Adadelta", dict(lr=0.5, rho=0.95, eps=1e-5)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True)),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.005, momentum=0.9)),
    ("rmsprop_centered_momentum", "RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5,
                                                  centered=True)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam_amsgrad", "Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.99))),
    ("adamw", "AdamW", dict(lr=0.01)),
    ("adamw_amsgrad", "AdamW", dict(lr=0.01, amsgrad=True)),
    ("nadam", "NAdam", dict(lr=0.01)),
    ("nadam_decoupled", "NAdam", dict(lr=0.01, momentum_decay=0.01,
                                      decoupled_weight_decay=True)),
    ("radam", "RAdam", dict(lr=0.01)),
    ("radam_decoupled", "RAdam", dict(lr=0.01, betas=(0.8, 0.99), decoupled_weight_decay=True)),
    ("adamax", "Adamax", dict(lr=0.01)),
    ("adamax_betas", "Adamax", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
]
IDS = [c[0] for c in CONFIGS]

# maximize=True on the negated loss must retrace the minimizing run (checked against torch too)
MAXIMIZE = [c for c in CONFIGS if c[0] in ("sgd_nesterov", "adagrad", "adadelta",
                                           "rmsprop_centered_momentum", "adam_amsgrad",
                                           "adamw", "nadam", "radam", "adamax")]
