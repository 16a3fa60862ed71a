"""The restarts' own energy in the sampled power series (issue 19 §3).

A station's energy-saving policy adds ``restart_kwh`` per restart (counted in its
``energy_kwh``, ``twin.sim.summary``). So that the tariff's cost, 15-minute peak and CO2,
which are priced from the sampled series, hold it too, each restart's energy is spread
over its warm-up: while a server of the station is ``warming_up`` the series draws, on
top of the state's ``power_kw``, ``restart_kwh / mean warm-up time`` (kW). With a constant
``restart_s`` each warm-up carries exactly its restart's ``restart_kwh``; with a random one
the restarts carry it on average (the series' total and ``energy_kwh`` then differ by the
spread of the warm-up times); a warm-up cut by the end of the warm-up period or the
horizon carries the share of it inside. A policy without a warm-up (``restart_s`` 0) has
no time to spread over: its restarts' energy stays out of the series (and in
``energy_kwh``).

The kernel reads the state powers only to sample the series (``ts_energy`` and the power
at each sample), so the extra power goes to the arrays the kernel runs on and nowhere
else: ``Lowered.arrays.power`` stays the states' own powers, the ones
``energy_kwh = sum(state time x power) + restarts x restart_kwh`` uses.
"""

from __future__ import annotations

from kernels import types as kt
from twin.model import elements as m


def restart_power(policy: m.EnergySaving) -> float:
    """The extra power (kW) of a warm-up that spreads one restart's ``restart_kwh`` over a
    mean warm-up; 0 without restart energy or without a warm-up."""
    kwh = policy.restart_kwh or 0.0
    mean = policy.restart.mean if policy.restart is not None else 0.0
    return kwh * 3600.0 / mean if kwh > 0 and mean > 0 else 0.0


def station_energy_kwh(a: kt.ModelArrays, rep, e: int) -> float:
    """Station ``e``'s ``energy_kwh`` in replication ``rep`` (a ``twin.sim.runner``
    replication, or a kernel state: ``st_time`` and ``el_out``), on the lowered arrays
    ``a``: its state times x the states' powers, plus its restarts x ``restart_kwh`` with
    an energy-saving policy. A recording of the run carries the same energy (with a
    constant ``restart_s``), so what compares the two uses this."""
    energy = float(rep.st_time[e] @ a.power[e]) / 3600.0
    if a.el_i[e, kt.I_ES_MODE] > 0:
        energy += rep.el_out[e, kt.O_RESTARTS] * a.el_f[e, kt.F_ES_KWH]
    return energy


def kernel_arrays(low) -> kt.ModelArrays:
    """The arrays the kernel runs ``low`` (a ``twin.sim.lowering.Lowered``) on: its arrays,
    the warm-up's power raised by :func:`restart_power` where a station has restart
    energy (the same arrays, untouched, where none has)."""
    if low.restart_kw is None:
        return low.arrays
    power = low.arrays.power.copy()
    power[:, kt.WARMING_UP] += low.restart_kw
    return low.arrays._replace(power=power)
