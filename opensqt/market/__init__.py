"""Market data services: the PriceMonitor (single price source), kline and funding feeds, discovery."""
