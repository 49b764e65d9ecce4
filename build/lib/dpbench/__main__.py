"""`python -m dpbench ...` (also what `torchrun -m dpbench run --method dep ...` launches)."""

from dpbench.cli import main

main()
