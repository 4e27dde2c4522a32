"""Objects that must repair themselves in a child process forked from this one.

gunicorn with ``--preload`` (and any ``os.fork``) copies the process but none of its other
threads: a fetch under way at that moment never lands in the child, a background thread (a
revocation mirror) is simply gone, and a lock one of them held stays held there for ever. Every
object with threads or locks of that kind registers how to repair itself here, once, and the
repairs run first thing in each child: new locks, forgotten flights and threads, so the child's
first caller starts afresh instead of waiting for a thread that is not there. One mechanism for
the whole library, so that no owner is forgotten and each repair is written beside its state.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["repair_in_forked_child"]

_Owner = TypeVar("_Owner")

#: Every owner in the process with how to repair it; an owner that is gone needs no repair.
_REPAIRS: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()


def repair_in_forked_child(owner: _Owner, repair: Callable[[_Owner], None]) -> None:
    """Have ``repair(owner)`` run in every child forked from now on, for as long as ``owner`` lives."""
    _REPAIRS[owner] = repair


def _repair_owners_in_child() -> None:
    for owner, repair in list(_REPAIRS.items()):
        repair(owner)


os.register_at_fork(after_in_child=_repair_owners_in_child)
