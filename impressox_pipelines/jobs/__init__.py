"""Op jobs and schedules, one module per field: actions that are not assets (delivering, applying
events, firing an alert), and `main_job` over every asset. Sensors name these jobs; the field's
`Definitions` in `impressox_pipelines.defs` assemble them."""
