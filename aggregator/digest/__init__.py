"""The daily digest for remote members: the day's content chosen from the store, a web page,
an Atom entry and an email, built and sent once a day (see runs.py for "once")."""
