"""Experiments built on the engine: the notebook's eight experiments reproduced (notebook.py,
with its own code's mistakes ported faithfully in legacy.py), the ablation of its deep
network's failure (ablation.py), and hyperparameter sweeps (space.py, sweep.py, executors.py).
"""
