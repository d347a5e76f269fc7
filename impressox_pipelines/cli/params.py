"""Checks for command-line values that typer's own `min=`/`max=` cannot express.

typer's ranges are closed (`min=0` admits 0) and a float range lets `inf` through when it has no upper
bound, so a "finite positive number" needs this parser. It sees the text as typed, so it can say why a
well-formed number is refused: `1e999999999` overflows a float to `inf`, `1e-999999999` underflows to 0.
Raising `typer.BadParameter` keeps click's usage-error format: `Error: Invalid value for '--option': …`
and exit status 2.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

import typer

from impressox_pipelines.market.rules import float_range_problem


def finite_positive(raw: str | float) -> float:
    """Option parser: `raw` (the typed text, or the option's float default) as a finite float > 0.

    Raises:
        typer.BadParameter: for text that is not a number, nan, ±inf, 0, negative numbers, and numbers
            whose float overflows to inf or underflows to 0.
    """
    try:
        value = float(raw)
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not a number") from None
    if math.isfinite(value) and value > 0:
        return value
    raise typer.BadParameter(f"{raw} is not a finite positive number{_out_of_range(raw)}")


def _out_of_range(raw: str | float) -> str:
    """Why a number that is finite and positive as written became inf or 0 as a float, or ''."""
    try:
        exact = Decimal(str(raw).strip())
    except InvalidOperation:
        return ""
    why = float_range_problem(exact) if exact.is_finite() and exact > 0 else ""
    return f" ({why})" if why else ""
