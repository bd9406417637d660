"""SAML 2.0 identity provider, answering the profile of the federal citizen account (BundID)
with the AKDB request extension, so a procedure can switch to us by swapping metadata."""
