"""Two-factor sign-in: an authenticator app (TOTP), recovery codes and passkeys.

`account_routes` is the set-up page under /account/two-factor (and the church-wide requirement);
`signin_routes` is the step after the password and passwordless passkey sign-in. Both are routes of
the auth blueprint.
"""
