"""The shop's services: each owns one database and exposes Lambda-style step handlers."""
