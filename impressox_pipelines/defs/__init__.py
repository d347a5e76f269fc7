"""Each field's contribution to the code location, assembled in one module per field: its assets and
checks, the jobs and schedules that act on them, and the sensors that request those jobs. Every
function takes the `Settings` (intervals, batch sizes) and returns a `dagster.Definitions`; the
resources are chosen once, in `resources.build_resources`, and bound in `definitions.py`."""
