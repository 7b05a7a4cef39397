"""The administration: `/admin/` pages generated from the models (registry.py, pages.py),
and `python -m www.admin create-admin` (__main__.py)."""
