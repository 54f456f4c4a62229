"""Counter-side voucher redemption: domain, service, terminal."""

__version__ = "0.1.0"
