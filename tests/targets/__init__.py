"""Drivers under test for `condis verify` tests that are not buggy (tests/buggy has those)."""
