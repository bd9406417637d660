"""Protocol-neutral hand-off between a procedure's request and the hosted login (Interaction),
and the person's consent to release attributes to a procedure."""
