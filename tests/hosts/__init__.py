"""Hosts and drivers that several test modules share, one module per area."""
