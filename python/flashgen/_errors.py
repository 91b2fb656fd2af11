"""FlashgenError and the check that turns a C status into it."""

from . import _capi
from ._capi import api as _api


class FlashgenError(RuntimeError):
    """A failed runtime call. ``status`` is the status name (e.g.
    "InvalidArgument", "NoDriver"), ``code`` its number, and the message is
    the runtime's, naming the argument, file or resource."""

    def __init__(self, code, message):
        self.code = code
        self.status = (_capi.STATUS_NAMES[code]
                       if 0 <= code < len(_capi.STATUS_NAMES) else str(code))
        super().__init__("%s: %s" % (self.status, message))


def _check(code):
    if code != 0:
        raise FlashgenError(code, _capi.text(_api().flashgen_last_error()))
