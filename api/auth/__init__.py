"""Who is calling and what they may do.

Two ways in, one model of access: an API key (`api_keys`) or a JWT from an
identity provider (`tokens`) both become a `Principal` (a role and the
portfolios it may touch); `deps` turns that into the routes' 401/403/404.
`settings` reads the configuration from the environment.
"""
