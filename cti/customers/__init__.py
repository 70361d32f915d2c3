"""Customers: the records behind the screen-pop, and bulk import."""
