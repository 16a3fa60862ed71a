"""Slow, obviously-correct references the twin kernel is tested against (stumpy's ``naive``).

``markov``  exact steady state of short exponential lines (CTMC, sparse solve).
``naive``   a pure-Python event simulation of a serial line, for exact traces.
``lines``   the project documents both sides of a comparison are built from.
"""
