"""`python -m impressox_pipelines.cli …`: the `impressox` console script from any checkout."""

from impressox_pipelines.cli import main

main()
