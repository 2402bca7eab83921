"""The ledger's commands, one module per part of the domain; ``domain.application.Ledger`` composes them."""
