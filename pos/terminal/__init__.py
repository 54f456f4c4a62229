"""The terminal side: local database, endpoint client, the counter's redemption path, sync."""
