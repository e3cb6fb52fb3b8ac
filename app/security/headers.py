"""Security headers every page carries, shared by the app factory and the views that adjust them."""

# No inline script or style anywhere: the CSP says so and the templates keep to it.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self' https://checkout.stripe.com "
    "https://billing.stripe.com; base-uri 'self'; object-src 'none'"
)
