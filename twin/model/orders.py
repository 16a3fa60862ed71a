"""Orders (issue 18 §4): what an order source releases, and how it sequences the parts.

An order asks for ``quantity`` parts of ``product``, released to the line at ``release`` (s)
and due at ``due`` (s); ``priority`` ranks it for the ``priority`` rule (higher first). The
source's sequencing rule decides which released order's parts go to the line first when
several wait (docs/orders.md); the kernel's side is ``kernels.orders``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Sequencing rules of an order source, in the order of ``kernels.types.SEQUENCING_NAMES``.
SEQUENCING_RULES = ("fifo", "edd", "spt", "priority", "setup")


@dataclass(frozen=True)
class Order:
    """One order: ``quantity`` parts of ``product`` released at ``release``, due at ``due``."""

    id: str
    product: str
    quantity: int
    release: float
    due: float
    priority: float = 0.0
