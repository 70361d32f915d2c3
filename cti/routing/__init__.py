"""Automatic call distribution: which waiting call goes to which agent, and why."""
