"""The training layer: the outer loop, run folders, evaluation and experiments built from configs.

``loop``, ``run`` and ``evaluation`` drive any :class:`~rlsuite.algos.base.Algorithm` and any
:class:`~rlsuite.agents.base.Policy` through their protocols (they import no learner); ``experiment``
builds an algorithm from an experiment config and trains it in a run folder.
"""
