"""Security helpers: webhook signatures, PII masking."""
