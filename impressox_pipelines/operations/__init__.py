"""Operations: health checks, failure-alert policy, secret redaction and structured logs (no Dagster imports)."""
