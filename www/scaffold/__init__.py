"""`python -m www.scaffold generate|destroy`: a whole resource (model, schemas, actions,
pages, API, routes, templates, tests, migration, registry and navigation) in one command,
shaped like www/posts/, and taken away again exactly."""
