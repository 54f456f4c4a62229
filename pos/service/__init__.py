"""The redemption service: HTTP API over SQLite, one writer thread with group commit."""
