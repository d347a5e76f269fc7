"""Assets, asset checks and jobs: one module per field."""
