"""Tests of www/accounts/."""
