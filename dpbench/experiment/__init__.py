"""`dpbench experiment FILE.toml`: a paper table's whole grid (benchmarks × models × methods) in one
command — built, run, resumed, scored and laid out as the papers do.

    spec.py   the experiment file's typed model
    grid.py   the cells (each an ordinary run directory), scoring, the paper tables
"""
