"""pyre's ``pyre.pyre`` module, for ``from pyre.pyre import Pyre``:
``from zre_rs.pyre.pyre import Pyre`` (the class itself is in ``_pyre``)."""

from ._pyre import PYRE_EVENTS, Pyre, PyreSocket

__all__ = ["Pyre", "PyreSocket", "PYRE_EVENTS"]
