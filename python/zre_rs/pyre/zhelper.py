"""What pyre's ``zhelper`` offers applications: ``zthread_fork`` (a thread
with a PAIR pipe back to its parent, as pyre's examples/chat.py uses) and
``zcreate_pipe``. Needs pyzmq, as pyre does."""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Tuple

import zmq


def _pair(ctx: "zmq.Context[Any]", hwm: int) -> "Tuple[zmq.Socket[Any], zmq.Socket[Any]]":
    front = ctx.socket(zmq.PAIR)
    back = ctx.socket(zmq.PAIR)
    for sock in (front, back):
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, hwm)
        sock.setsockopt(zmq.RCVHWM, hwm)
    endpoint = "inproc://zre-rs-pipe-%s" % os.urandom(8).hex()
    front.bind(endpoint)
    back.connect(endpoint)
    return front, back


def zcreate_pipe(ctx: "zmq.Context[Any]", hwm: int = 1000) -> "Tuple[zmq.Socket[Any], zmq.Socket[Any]]":
    """Two PAIR sockets connected over inproc: ``(frontend, backend)``."""
    return _pair(ctx, hwm)


def zthread_fork(ctx: "zmq.Context[Any]", func: Callable[..., Any], *args: Any, **kwargs: Any) -> "zmq.Socket[Any]":
    """Starts ``func(ctx, pipe, *args, **kwargs)`` in a (non-daemon) thread
    and returns the parent's end of ``pipe`` (a PAIR socket). As pyre's,
    both ends time out sends and receives after 5 s."""
    parent, child = _pair(ctx, 100)
    for sock in (parent, child):
        sock.setsockopt(zmq.SNDTIMEO, 5000)
        sock.setsockopt(zmq.RCVTIMEO, 5000)
    thread = threading.Thread(target=func, args=(ctx, child) + args, kwargs=kwargs)
    thread.daemon = False
    thread.start()
    return parent
