"""Accounts: registering, logging in and out, changing the password, the session API."""
