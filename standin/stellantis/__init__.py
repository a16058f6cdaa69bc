"""Stellantis' upstreams simulated locally over one deterministic market.

`sites` serves the six public brand sites over HTTP, `dealerconnect` serves DealerConnect's
BigQuery dataset over the same vehicles and dealers, and `run_day` runs a whole day of the
`ai_stellantis` pipeline against both (`scripts/run-day.sh`).
"""
