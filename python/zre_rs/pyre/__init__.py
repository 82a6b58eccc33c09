"""pyre 0.3.4's API on the zre Rust node: change one import line.

    import pyre                      ->  import zre_rs.pyre as pyre
    from pyre import Pyre            ->  from zre_rs.pyre import Pyre
    from pyre.pyre import Pyre       ->  from zre_rs.pyre.pyre import Pyre
    from pyre import zhelper         ->  from zre_rs.pyre import zhelper
    from pyre.pyre_event import ...  ->  from zre_rs.pyre.pyre_event import ...

``zhelper`` needs pyzmq (``pip install zre-rs[pyre]``), as pyre does.
"""

from ._pyre import PYRE_EVENTS, Pyre, PyreSocket, __version__, __version_info__
from .pyre_event import PyreEvent


def __getattr__(name: str):  # zhelper imports pyzmq: only when asked for
    if name in ("zhelper", "pyre"):
        import importlib

        return importlib.import_module(__name__ + "." + name)
    raise AttributeError(name)


# pyre's own __all__ is ['pyre', 'zbeacon', 'zhelper']: `from pyre import *`
# then `pyre.Pyre(...)` works here too (zbeacon, pyre's UDP beacon class,
# is not provided: the node beacons itself).
__all__ = ["Pyre", "PyreEvent", "PyreSocket", "PYRE_EVENTS", "pyre", "zhelper"]
