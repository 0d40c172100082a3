"""The pack's rules, one module per provider boundary plus the architecture rules."""
