"""Checks for command-line values that typer's own `min=`/`max=` cannot express.

typer's ranges are closed (`min=0` admits 0) and a float range lets `inf` through when it has no upper
bound, so a "finite positive number" needs this callback. Raising `typer.BadParameter` keeps click's
usage-error format: `Error: Invalid value for '--option': …` and exit status 2.
"""

from __future__ import annotations

import math

import typer


def finite_positive(value: float | None) -> float | None:
    """Option callback: `value` unchanged when it is None or a finite number > 0.

    Raises:
        typer.BadParameter: for nan, ±inf, 0 and negative numbers.
    """
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g} is not a finite positive number")
    return value
