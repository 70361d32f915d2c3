"""Quality review: the form, a weekly sample of recorded calls per agent, scored reviews."""
