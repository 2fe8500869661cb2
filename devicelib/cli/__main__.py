"""``python -m devicelib.cli``: the same as the ``devicelib`` command."""

from . import entry

entry()
