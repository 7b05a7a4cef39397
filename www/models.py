"""Every model of the application: the resources' (www/resources.py), then the tables of
the shared machinery, which belong to no resource.

In dependency order: create_all() goes forwards, drop_all() backwards.
"""

from .admin.models import AdminChange
from .brokers.messages import BrokerMessage
from .resources import models

# A resource is a package of pages, API and tables (RESOURCES); the broker is none of that,
# so its table is named here. It refers to no other table and none refers to it: it can
# come last. Other machinery tables would join it in this list: the admin's audit log
# refers to the users.
MODELS = [*models(), AdminChange, BrokerMessage]

# Their tables' names: what the caches count as a table among the names a query mentions
# (www/cache.py, www/responses.py).
TABLES = frozenset(model._meta.table for model in MODELS)
