"""Benchmarks that ship with the package, behind `humanoid-rt bench` (and the scripts in bench/).

Every figure is a measurement reported with the command that produced it, never
a pass/fail threshold: the machines this runs on are often shared VMs, so the
suite measures a reference (cyclictest, a pure-Python loop) in the same
invocation and reports ratios.
"""
