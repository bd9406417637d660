"""The authorities of the district: its administration, municipal associations, municipalities.

Clients, staff and organisation applications belong to an authority; everything scoped by
authority refers to one of these rows by id.
"""
