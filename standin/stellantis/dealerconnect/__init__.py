"""A local stand-in for DealerConnect's BigQuery dataset, over the same simulated market.

`data` builds a day's tables from the public stand-in's `World` (the same vehicles at the same
dealers, plus private units known by order number, sales on the day a vehicle leaves the public
feed, and code guides); `server` answers the part of BigQuery's REST API that
`google-cloud-bigquery` uses, running the SQL in DuckDB; `process` starts it for tests.
"""
