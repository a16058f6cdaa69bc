"""Tests of the OEM-agnostic library."""
