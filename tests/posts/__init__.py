"""Tests of www/posts/."""
