"""Money: the double-entry ledger of deals, escrow and payouts."""
