"""Who owns what: the model a layer belongs to, the thread that trains a model, and what
a child of fork() starts with. See docs/architecture.md, "Threads and scheduling"."""

import contextlib
import os
import threading
import weakref

# layer -> the model it belongs to (weak both ways: neither keeps the other alive, and
# layers stay picklable)
_owners = weakref.WeakKeyDictionary()

# every live model, for fork(): a child starts with each model's lock free and no trainer
# (the thread that held them in the parent did not come along)
_models = weakref.WeakSet()

_trainers = threading.Lock()  # guards every model's _trainer


def new_model(model):
    """Give a new model its lock (held by every use of its weights and Net) and register
    it for fork()."""
    model._lock = threading.RLock()
    model._trainer = None
    _models.add(model)


def claim(model, layer):
    """`layer` joins `model`; a layer of another live model is refused: its weights live
    in that model's buffers, which would then train to no effect."""
    owner = _owners.get(layer)
    if owner is not None and owner() is not None and owner() is not model:
        raise ValueError(
            f"layer {layer.name!r} already belongs to model {owner().name!r}; fastnn does "
            "not share layers between models. Use a new layer, e.g. "
            "type(layer).from_config(layer.get_config())"
        )
    _owners[layer] = weakref.ref(model)


def release(layer):
    _owners.pop(layer, None)


@contextlib.contextmanager
def training(model):
    """The calling thread trains `model` for the block: another thread that trains it at
    the same time gets a RuntimeError (its predicts, get_weights and saves wait for the
    step in progress instead: the model's lock)."""
    me = threading.get_ident()
    with _trainers:
        if model._trainer not in (None, me):
            raise RuntimeError(
                "this model is already being trained by another thread; train one model "
                "from one thread at a time"
            )
        outer, model._trainer = model._trainer, me
    try:
        yield
    finally:
        with _trainers:
            model._trainer = outer


def _after_fork_in_child():
    global _trainers
    _trainers = threading.Lock()
    for model in list(_models):
        model._lock = threading.RLock()
        model._trainer = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
