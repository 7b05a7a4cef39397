"""Tests of www/files/."""
