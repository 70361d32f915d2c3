"""Supervision: the wallboard, KPIs and its alerts, the live board's actions on agents and calls
(pause, listen, whisper, barge), history and recordings."""
