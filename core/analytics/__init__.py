"""Performance and risk analytics: pure functions over a portfolio's daily series.

Returns and risk figures are binary floats (numpy float64), unlike money and
quantities, which stay exact decimals everywhere else. Every function takes
arrays over the portfolio's valuation dates, in date order, with NaN for a
figure that is not known (a missing price or FX rate), and is vectorised: the
API answers TWR and the full risk set over ten years of daily data per request.

Modules, one concept each:
- `returns`: daily portfolio returns r_t and benchmark returns b_t.
- `periods`: named periods (SI, YTD, 1Y, Y2023, ...) and clamping to inception.
- `xirr`: the internal rate of return of dated cash flows (actual/365).
- `performance`: TWR and MWR of a period.
- `risk`: volatility, Sharpe, Sortino, drawdown, beta/alpha, tracking error,
  information ratio, VaR and CVaR, with empyrical's conventions.

No I/O here: no Faust, Kafka, HTTP or SQL.
"""
