"""X (Twitter) web GraphQL: tweet records, the response parser, the account pool (no Dagster imports)."""
