"""Security helpers: webhook signatures, PII masking, the sign-in throttle, CSV downloads a spreadsheet cannot run."""
