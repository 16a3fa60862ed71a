"""Experiments: which design of the line is best, and which parameters matter.

The ``experiments`` of a project (factors, designs, responses), the study that simulates
every design point with common random numbers and replications to a precision, its HDF5
store that a study resumes from, optimisation with a statistical guarantee, and
sensitivity. Runs go through the executor seam (``twin.sim.executors``): threads, a
``spawn`` process pool, or a Dask cluster.
"""
