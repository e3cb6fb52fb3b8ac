"""Security helpers: webhook signatures, PII masking, the sign-in throttle."""
