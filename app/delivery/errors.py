"""Plain-language explanations of Telnyx and carrier error codes, for church admins."""

from __future__ import annotations

DEFAULT_MESSAGE = "The message could not be delivered. Our team can look up the details."

MESSAGES: dict[str, str] = {
    # API request errors (the message never left Telnyx).
    "10001": "The sending number is not active.",
    "10002": "The phone number is not valid.",
    "10004": "The message was missing required information.",
    "10007": "The texting service had an unexpected problem. It will be retried.",
    "10008": "The texting service took too long to answer. It will be retried.",
    "10009": "The texting service rejected our credentials. An administrator must check the API key.",
    "10010": "The texting account is not allowed to send from this number.",
    "10011": "We were sending faster than the texting service allows. It will be retried.",
    "10015": "The texting service could not read the request.",
    "10016": "The phone number is not in international format (+1…).",
    # Delivery errors (Telnyx accepted the message, a carrier refused it).
    "40001": "This number cannot receive texts (it may be a landline).",
    "40002": "The carrier temporarily blocked it as spam.",
    "40003": "The carrier has blocked this sending number as spam.",
    "40004": "The recipient's carrier rejected the message.",
    "40005": "The message expired before the phone could be reached.",
    "40006": "The recipient's carrier was unavailable.",
    "40008": "The recipient's carrier would not accept the message.",
    "40009": "The carrier rejected the message text.",
    "40010": "The sending number is not registered for business texting (10DLC).",
    "40011": "The carrier's sending limit was exceeded.",
    "40012": "The carrier says this phone number is not valid.",
    "40013": "The carrier rejected our sending number.",
    "40014": "The message waited too long in the queue and expired.",
    "40015": "The message was flagged as spam before sending.",
    "40300": "This person replied STOP and has opted out of texts.",
    "40301": "This kind of message is not supported for this number.",
    "40302": "The message is too large to send.",
    "40305": "The sending number cannot send texts.",
    "40308": "The sending number cannot send picture messages.",
    "40309": "Texts to this country or region are not enabled.",
    "40310": "The phone number is not a valid mobile number.",
    "40311": "The texting account configuration is invalid.",
    "40312": "The messaging profile is disabled.",
    "40314": "Texting is disabled on the account.",
    "40316": "The message was empty.",
    "40317": "The picture or attachment could not be sent.",
    "40318": "The texting service's queue was full. It will be retried.",
    # Carrier status codes (the widely used 300xx set).
    "30001": "The sending queue was full. It will be retried.",
    "30003": "The phone was switched off or out of reach.",
    "30004": "The recipient has blocked messages or their carrier blocked this one.",
    "30005": "This number does not exist or is no longer in service.",
    "30006": "This number is a landline or cannot receive texts.",
    "30007": "The carrier filtered it as spam.",
    "30008": "The carrier could not deliver it, without saying why.",
    # Statuses and local codes.
    "delivery_failed": "The carrier could not deliver the message.",
    "sending_failed": "The texting service could not send the message.",
    "delivery_unconfirmed": "The carrier did not confirm delivery.",
    "expired": "The message expired before it could be delivered.",
    "timeout": "The texting service did not answer in time; the message may or may not have gone out.",
    "connect": "We could not reach the texting service. It will be retried.",
    "opted_out": "This person has opted out of texts.",
    "no_number": "There was no number to send from or to.",
    "provider_error": "The texting service refused the message.",
    "worker_lost": "Sending stopped part-way; the message may or may not have gone out.",
}


# Reasons a later try may well get through: the service or carrier was busy, down or slow to answer,
# or the phone was out of reach. Opt-outs, bad numbers, spam blocks and account problems are not.
# (timeout and worker_lost are left out: the text may have gone, and a second one is worse.)
TRANSIENT = frozenset(
    {"10007", "10011", "40002", "40005", "40006", "40011", "40014", "40318", "30001", "30003", "30008"}
    | {"delivery_failed", "sending_failed", "delivery_unconfirmed", "expired", "connect", "provider_error"}
)


def retryable(code: object) -> bool:
    """Whether sending again after this error code makes sense (a transient reason)."""
    return code is not None and str(code).strip() in TRANSIENT


def describe(code: object) -> str:
    """Explain a provider/carrier error code in one sentence; unknown codes get a safe default."""
    if code is None:
        return DEFAULT_MESSAGE
    return MESSAGES.get(str(code).strip(), DEFAULT_MESSAGE)
