"""Posts and their comments: the home page, post pages, profiles, the API, live comments."""
