"""Who may do what: roles, their permissions, and the principal a request acts as."""
