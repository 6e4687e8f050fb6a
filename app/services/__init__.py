"""Services: plain functions over a Session. They flush, never commit: the caller owns the
transaction (the request dependency, or `with factory.begin()` in scripts)."""
