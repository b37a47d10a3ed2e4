"""hmmlearn's compiled forward/backward lattice routines: the only module that touches the private ``_hmmc``.

``_hmmc`` is not public API, so a change in hmmlearn breaks here and only here; pyproject.toml pins the hmmlearn
range these names were tested with.
"""
from __future__ import annotations

from hmmlearn import _hmmc

forward_log = _hmmc.forward_log
forward_scaling = _hmmc.forward_scaling
backward_log = _hmmc.backward_log
backward_scaling = _hmmc.backward_scaling
compute_log_xi_sum = _hmmc.compute_log_xi_sum
compute_scaling_xi_sum = _hmmc.compute_scaling_xi_sum
