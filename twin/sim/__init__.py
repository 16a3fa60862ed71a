"""Simulation: a project lowered to the kernel's arrays, run for replications, summarised.

``lowering`` turns a project into the frozen arrays the Numba kernel reads (``kernels/``);
``runner`` runs scenarios x replications in chunks with progress and cancel; ``summary``
turns the kernel's raw outputs into KPIs with 95% intervals (``stats``); ``resultsfile``
writes and reads results in HDF5. What-if work that starts from a recording lives one
layer up, in ``twin.whatif``.
"""
