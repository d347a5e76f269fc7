"""The X account pool: the cookies file (a secret) plus the pool's shared state in MongoDB."""

from __future__ import annotations

from typing import Any

from impressox_pipelines.connections.errors import ResourceSetupError
from impressox_pipelines.x.accounts import COLLECTION, AccountPool, AccountsFileError, load_accounts

ACCOUNTS_VARIABLE = "IMPRESSOX_X_ACCOUNTS_FILE"


def open_account_pool(database: Any, accounts_file: str | None, base_url: str) -> AccountPool:
    """The pool over `accounts_file` (see `x.accounts.load_accounts`), its state in `database[x_accounts]`.

    `base_url` (x.com or the stand-in) only names the service in errors. The file's content is never
    logged or stored.

    Raises:
        ResourceSetupError: when the accounts file is unset, missing or malformed.
    """
    if not accounts_file:
        raise ResourceSetupError("X accounts", ACCOUNTS_VARIABLE, base_url,
                                 f"no accounts file: set {ACCOUNTS_VARIABLE} to a JSON file of session cookies")
    try:
        accounts = load_accounts(accounts_file)
    except AccountsFileError as exc:
        raise ResourceSetupError("X accounts", ACCOUNTS_VARIABLE, base_url, str(exc)) from None
    return AccountPool(database[COLLECTION], accounts)
