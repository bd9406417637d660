"""PIN letters: issued to the registered address, exported to the print shop, redeemed once."""
