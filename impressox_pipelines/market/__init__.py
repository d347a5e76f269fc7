"""The market monitor's plain modules (no Dagster): exact price parsing, symbol resolution, the price
feed client, the price-rule state machine, its Redis index, snapshots, candles and the backtest."""
