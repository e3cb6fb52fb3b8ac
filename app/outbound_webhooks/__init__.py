"""Outbound webhooks in the Standard Webhooks format: a church's own software hears of its events.

    events.py     emit(): the one place events are written, as outbox rows in the change's transaction
    delivery.py   the RQ job that signs and POSTs one delivery, its retries for 24 hours, the sweep
    urls.py       which URLs may be called: https to public addresses, checked again at send time
    endpoints.py  the services behind /settings/webhooks and /api/v1/webhook-endpoints

A leaf: domains call `events.emit` from the code that makes the change; nothing here imports a domain.
"""
