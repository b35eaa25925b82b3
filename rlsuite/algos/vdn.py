"""VDN: Value-Decomposition Networks (Sunehag et al., 2017, arXiv:1706.05296).

The joint action value is the sum of the agents' values, ``Q_tot(tau, a) = sum_i Q_i(tau_i, a_i)``
(paper eq. 1), learned end to end from the team reward; the global state is not used. Everything
else (recurrent agents with shared weights, episode replay, double-Q targets over available actions,
the masked TD loss) is QMIX's machinery (:mod:`rlsuite.algos.qmix`) with the additive mixer, as in
PyMARL's ``algs/vdn.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlsuite.algos.qmix import QMIX, QMIXConfig
from rlsuite.config import param


@dataclass
class VDNConfig(QMIXConfig):
    """QMIX's settings with the additive mixer fixed."""

    name: str = param("vdn", help="algorithm name (fixed)", choices=("vdn",))
    mixer: str = param("vdn", help="additive mixer: Q_tot = sum_i Q_i (fixed)", choices=("vdn",))


class VDN(QMIX):
    """Value-decomposition networks: QMIX's learner with ``Q_tot = sum_i Q_i`` (``algo.name: vdn``)."""

    name = "vdn"
    description = "Multi-agent value decomposition: the team Q is the sum of the agents' Qs"
    config_cls = VDNConfig
