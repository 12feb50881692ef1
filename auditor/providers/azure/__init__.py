"""Azure: Machine Learning workspaces and endpoints, their identities' roles, and API Management in front."""
