"""Batch scoring: `run_score` reads inputs, scores them with one detector and writes one row per record.

Example:
    >>> from nightjar.scoring import run_score
    >>> run_score("dga", ["domains.txt"], "scored.csv")  # doctest: +SKIP
"""

from nightjar.scoring.run import ScoreSummary, load_scoring_detector, run_score, score_frame

__all__ = ["ScoreSummary", "load_scoring_detector", "run_score", "score_frame"]
