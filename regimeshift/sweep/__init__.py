"""`regimeshift sweep`: thousands of variants screened, ranked honestly, the best replayed in full.

spec.py (SWEEP.toml), screen.py (one variant through the pipeline's stages and the array engine), store.py
(durable, resumable results), leaderboard.py (table, DSR, PBO, pictures, page), run.py (orchestration and
executors: process pool or Dask). The overfitting math is in ``regimeshift.reports.overfitting``.
"""
