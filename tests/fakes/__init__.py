"""Local fakes of third-party APIs (Stripe) that tests and browser journeys run against."""
