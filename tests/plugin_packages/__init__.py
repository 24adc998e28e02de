"""Tests that pip-install the example plugin packages and use them through entry points."""
