"""Security helpers: webhook signatures, PII masking, CSV downloads a spreadsheet cannot run."""
