"""Writing Faust tables for a batch of events.

Faust writes a table key to the changelog partition of the *current event*
and refuses writes without one. A batch from `take_events` has no current
event in the agent's task, so the writes for each source partition are made
inside the context of one of that partition's events.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from faust.streams import _current_event
from faust.types import EventT


@contextmanager
def writing_as(event: EventT) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
