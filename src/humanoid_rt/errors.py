"""The one base class of every exception class humanoid_rt defines.

``except humanoid_rt.HumanoidRtError`` catches the package's own error types (a config field out of
range, a refused safety request, a torn device frame, a bad skill or session file, a refused remote
request...) and nothing else: bugs and interrupted system calls stay distinct. Argument checks of the
Python API (a wrong array shape, an unknown joint name) raise the built-in ValueError / KeyError, as
numpy and the standard library do.

Each concrete class also keeps the standard base that says what kind of failure it is (``ValueError``
for bad input, ``RuntimeError`` for a refused or impossible operation), so code written against those
bases keeps working. This module imports nothing from the package so every module can import it.
"""

from __future__ import annotations


class HumanoidRtError(Exception):
    """Base of every exception class defined by humanoid_rt."""
