"""Every model of the application, gathered from the resources (www/resources.py).

In dependency order: create_all() goes forwards, drop_all() backwards.
"""

from .resources import models

MODELS = models()
