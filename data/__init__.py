"""The data layer: reading CSVs as found and checking them (csv_files, checks, calendar_check), the trading
calendar, the market a run sees (market, sources, files), the Parquet store (store/) and the synthetic market.
It imports nothing above :mod:`regimeshift.core`."""
