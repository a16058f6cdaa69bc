"""Alerts: failed asset checks and failed runs sent to Sentry by two sensors."""
