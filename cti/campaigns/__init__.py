"""Outbound collection campaigns (issue 18): the lists of customers to call, the do-not-call
list, and the rules of whom the dialer may call next (rules.py, pure; lists.py, SQL)."""
