"""Generic training and evaluation machinery: leak-free splits, metrics at a fixed FPR, model cards.

- `splits`: grouped (family, source, host), out-of-time, by-source and leave-one-group-out splits;
- `metrics`: ROC-AUC, PR-AUC, Brier and TPR at fixed FPRs with thresholds chosen on validation data;
- `card`: the JSON report and the self-contained HTML model card with plots.
"""

from nightjar.training.metrics import Metrics, OperatingPoint, evaluate, threshold_at_fpr
from nightjar.training.splits import Split, grouped_split, leave_one_group_out, out_of_time_split, source_split

__all__ = [
    "Metrics", "OperatingPoint", "Split", "evaluate", "grouped_split", "leave_one_group_out",
    "out_of_time_split", "source_split", "threshold_at_fpr",
]
