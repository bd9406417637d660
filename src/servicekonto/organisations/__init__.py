"""Organisations: companies, freelancers and associations, verified by the registration office."""
