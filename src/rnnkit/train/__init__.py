"""Training engine on Lightning: truncated BPTT with carried state, divergence guard,
time-budgeted schedules, resumable checkpoints, DDP through Lightning."""

from .batches import Batches as Batches
from .batches import FixedBatches as FixedBatches
from .config import TrainConfig as TrainConfig
from .config import parse_duration as parse_duration
from .fit import finish as finish
from .fit import fit as fit
from .fit import run_folder as run_folder
from .guard import DivergenceGuard as DivergenceGuard
from .module import RecurrentTask as RecurrentTask
from .module import detach_state as detach_state

__all__ = [
    "Batches",
    "DivergenceGuard",
    "FixedBatches",
    "RecurrentTask",
    "TrainConfig",
    "detach_state",
    "finish",
    "fit",
    "parse_duration",
    "run_folder",
]
