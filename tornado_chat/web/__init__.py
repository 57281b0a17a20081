"""The HTTP side: handlers that parse, call a service and answer, split by domain, and the pages."""
