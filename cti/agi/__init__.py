"""AGI programs Asterisk runs on a channel (as opposed to the daemon's FastAGI route point in
cti/routing/). Each is a console script of this package, so pip writes it with the virtual
environment's Python in its shebang: Asterisk runs AGIs with its own environment, where
``#!/usr/bin/env python3`` would find the system Python without this project's packages."""
