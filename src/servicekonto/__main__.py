"""`python -m servicekonto` runs the same CLI as the `servicekonto` script."""

from servicekonto.cli import main

main()
