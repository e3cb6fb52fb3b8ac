"""Keywords: the consent words (STOP, START, HELP) and each church's join keywords.

services.py acts on inbound texts (called by app/inbox/inbound.py) and lists a church's
keywords; routes.py and forms.py are the Settings → Join keywords pages. Those pages are
views of the settings blueprint (so their endpoints are settings.*), registered by
app/settings/__init__.py.
"""
