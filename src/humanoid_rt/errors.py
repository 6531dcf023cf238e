"""The one base class of every exception humanoid_rt raises on purpose.

``except humanoid_rt.HumanoidRtError`` catches any refusal or bad-input error
of the package (a config field out of range, a refused safety request, a torn
device frame, a bad skill file...) and nothing else: bugs and interrupted
system calls stay distinct.

Each concrete class also keeps the standard base that says what kind of
failure it is (``ValueError`` for bad input, ``RuntimeError`` for a refused or
impossible operation), so code written against those bases keeps working.
This module imports nothing from the package so every module can import it.
"""

from __future__ import annotations


class HumanoidRtError(Exception):
    """Base of every exception class defined by humanoid_rt."""
