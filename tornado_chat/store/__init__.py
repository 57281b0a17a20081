"""Storage: the database side of the service."""
